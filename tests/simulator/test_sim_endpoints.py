"""The synchronous Responses, Completions, Moderations and Models routes through the official SDK (sync
and async): OpenAI's shapes (validated against the SDK's types), request ids, streaming, markers, errors."""

from __future__ import annotations

import json
import re

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types import Completion, Model, ModerationCreateResponse
from openai.types.responses import Response

from batchgpt.simulator.answers import expected_completion_text, expected_response_text
from batchgpt.simulator.completion_answers import DEFAULT_MAX_TOKENS
from batchgpt.simulator.moderation_answers import CATEGORIES
from batchgpt.simulator.testing import RunningSimulator
from tests.support.conformance import assert_conforms

REQUEST_ID = re.compile(r"req_[0-9a-f]{32}")


def test_responses_create(sim: RunningSimulator, client: OpenAI) -> None:
    raw = client.responses.with_raw_response.create(model="gpt-4.1-mini", input="Name three colours.")
    assert REQUEST_ID.fullmatch(raw.headers["x-request-id"])
    response = raw.parse()
    assert response._request_id == raw.headers["x-request-id"]
    assert_conforms(Response, json.loads(raw.text))
    assert response.object == "response" and response.status == "completed" and response.id.startswith("resp_")
    assert response.output_text == expected_response_text({"model": "gpt-4.1-mini", "input": "Name three colours."})
    [message] = response.output
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    usage = response.usage
    assert usage is not None and usage.total_tokens == usage.input_tokens + usage.output_tokens > 0
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens == 0
    assert (response.tool_choice, response.tools, response.parallel_tool_calls) == ("auto", [], True)
    assert sim.stats()["api_calls"] == {"responses": 1}


def test_responses_input_items_instructions_and_truncation(client: OpenAI) -> None:
    items = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "input_text", "text": "second question"}]},
    ]
    response = client.responses.create(model="gpt-4o", input=items, instructions="Be brief.")  # type: ignore[arg-type]
    assert response.output_text == expected_response_text({"model": "gpt-4o", "input": "second question"})
    assert response.instructions == "Be brief."
    long = client.responses.create(model="gpt-4o", input="word " * 200, max_output_tokens=16)
    assert long.status == "incomplete" and long.incomplete_details is not None
    assert long.incomplete_details.reason == "max_output_tokens" and len(long.output_text) == 64


def test_responses_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as marked:
        client.responses.create(model="gpt-4o", input=[{"role": "user", "content": "x [sim:error=400]"}])
    assert marked.value.type == "invalid_request_error"
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(model="gpt-4o", input="x [sim:error=429]")
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.responses.create(model="gpt-9-imaginary", input="x")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as missing:
        client.post("/responses", body={"model": "gpt-4o"}, cast_to=Response)
    assert (missing.value.param, missing.value.code) == ("input", "missing_required_parameter")
    with pytest.raises(openai.BadRequestError) as unnamed:
        client.responses.create(
            model="gpt-4o",
            input="x",
            text={"format": {"type": "json_schema", "schema": {"type": "object"}}},  # type: ignore[typeddict-item]
        )
    assert unnamed.value.param == "text.format.name"


def test_responses_stream(client: OpenAI) -> None:
    plain = client.responses.create(model="gpt-4o", input="stream this answer please, it is long enough")
    with client.responses.stream(model="gpt-4o", input="stream this answer please, it is long enough") as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [event.type for event in events]
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") > 1
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == final.output_text == plain.output_text


def test_completions_create(client: OpenAI) -> None:
    prompt = "Once upon a time, in a land far away, there lived a"
    raw = client.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt=prompt)
    assert REQUEST_ID.fullmatch(raw.headers["x-request-id"])
    completion = assert_conforms(Completion, json.loads(raw.text))
    assert completion.object == "text_completion" and completion.id.startswith("cmpl-")
    [choice] = completion.choices
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": prompt}
    assert choice.text == expected_completion_text(body)
    assert choice.finish_reason == "length" and len(choice.text) == 4 * DEFAULT_MAX_TOKENS  # OpenAI's default 16
    assert completion.usage is not None and completion.usage.completion_tokens == DEFAULT_MAX_TOKENS
    several = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=["a", "b"], n=2, max_tokens=200, logprobs=2
    )
    assert [c.index for c in several.choices] == [0, 1, 2, 3]
    assert several.choices[3].text == expected_completion_text({"prompt": ["a", "b"], "max_tokens": 200}, 1, 1)
    first = several.choices[0]
    assert first.finish_reason == "stop" and first.logprobs is not None and first.logprobs.tokens is not None
    assert "".join(first.logprobs.tokens) == first.text
    assert all(len(top) == 2 for top in first.logprobs.top_logprobs or [])


def test_completions_stream_and_errors(client: OpenAI) -> None:
    body = {"model": "davinci-002", "prompt": "tell me", "max_tokens": 100}
    chunks = list(
        client.completions.create(
            model="davinci-002", prompt="tell me", max_tokens=100, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == expected_completion_text(body)
    assert chunks[-2].choices[0].finish_reason == "stop" and chunks[-1].usage is not None
    with pytest.raises(openai.InternalServerError):
        client.with_options(max_retries=0).completions.create(model="davinci-002", prompt="x [sim:error=500]")
    with pytest.raises(openai.BadRequestError) as missing:
        client.post("/completions", body={"model": "davinci-002"}, cast_to=Completion)
    assert missing.value.param == "prompt"


def test_moderations_create(client: OpenAI) -> None:
    raw = client.moderations.with_raw_response.create(input=["hello", "a threat [sim:flag=violence,harassment]"])
    moderation = assert_conforms(ModerationCreateResponse, json.loads(raw.text))
    assert moderation.id.startswith("modr-") and moderation.model == "omni-moderation-latest"
    calm, flagged = moderation.results
    assert not calm.flagged and not any(calm.categories.model_dump().values())
    assert flagged.flagged and flagged.categories.violence and flagged.categories.harassment
    assert not flagged.categories.hate and flagged.category_scores.violence > 0.9 > calm.category_scores.violence
    assert set(json.loads(raw.text)["results"][0]["categories"]) == set(CATEGORIES)
    image = client.moderations.create(
        model="omni-moderation-2024-09-26",
        input=[{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}],
    )
    [result] = image.results
    assert result.category_applied_input_types.violence == ["text", "image"]
    assert result.category_applied_input_types.hate == ["text"]
    with pytest.raises(openai.BadRequestError):
        client.moderations.create(input="x [sim:error=400:content_policy]")


def test_models(client: OpenAI, sim: RunningSimulator) -> None:
    models = client.models.list()
    ids = [model.id for model in models]
    assert ids == list(sim.settings.known_models) and "gpt-4o-mini" in ids
    raw = client.models.with_raw_response.retrieve("gpt-4o-mini")
    model = assert_conforms(Model, json.loads(raw.text))
    assert (model.object, model.owned_by) == ("model", "system")
    assert model == models.data[ids.index("gpt-4o-mini")]
    with pytest.raises(openai.NotFoundError) as unknown:
        client.models.retrieve("gpt-9-imaginary")
    assert (unknown.value.code, unknown.value.param) == ("model_not_found", "model")


async def test_async_clients(aclient: AsyncOpenAI) -> None:
    response = await aclient.responses.create(model="gpt-4o", input="async hello")
    assert response.output_text == expected_response_text({"model": "gpt-4o", "input": "async hello"})
    stream = await aclient.responses.create(model="gpt-4o", input="async hello", stream=True)
    events = [event async for event in stream]
    assert events[-1].type == "response.completed" and events[-1].response.output_text == response.output_text
    completion = await aclient.completions.create(model="gpt-3.5-turbo-instruct", prompt="p", max_tokens=5)
    assert completion.choices[0].text == expected_completion_text({"prompt": "p", "max_tokens": 5})
    moderation = await aclient.moderations.create(input="fine")
    assert not moderation.results[0].flagged
    assert "gpt-4o" in [model.id async for model in aclient.models.list()]
