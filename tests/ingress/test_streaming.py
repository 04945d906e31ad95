"""``stream: true`` through the official SDK: Responses events, completions and chat chunks replay the finished
object without losing a part, and an error outcome raises the same SDK error class as without ``stream``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from batchgpt.simulator.answers import expected_completion_text, expected_response_text
from tests.ingress.conftest import ALICE, Stack
from tests.ingress.rich_objects import rich_chat_completion, rich_completion, rich_response
from tests.support.conformance import sse_data, unparsed

AUTH = {"Authorization": f"Bearer {ALICE}"}
SIMPLE_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True, exclude_unset=True))


def test_responses_stream_yields_the_event_sequence_and_the_final_response(stack: Stack, prompt) -> None:
    text = prompt("rstream")
    with stack.client().responses.stream(model="gpt-4o-mini", input=text) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.type for e in events] == SIMPLE_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == expected_response_text({"input": text})
    [produced] = stack.stand_in.with_text(text)
    assert produced.body["stream"] is True  # kept on the topic; the collator removes it upstream


def test_responses_stream_of_a_rich_response_rebuilds_it_exactly(stack: Stack, prompt) -> None:
    text = prompt("[hold] rich-rstream")
    body = rich_response()

    def call() -> tuple[list[Any], Any]:
        with stack.client().responses.stream(model="gpt-4o-mini", input=text) as stream:
            return list(stream), stream.get_final_response()

    events, final = stack.stand_in.answer_during(call, text, 200, body)
    kinds = [e.type for e in events]
    assert kinds.count("response.output_item.added") == kinds.count("response.output_item.done") == 3
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    assert "response.output_text.annotation.added" in kinds and "response.refusal.done" in kinds
    [arguments] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert arguments.arguments == '{"city":"Oslo"}' and arguments.item_id == "fc_rich"
    completed = events[-1]
    assert completed.type == "response.completed" and unparsed(_dump(completed.response)["output"]) == body["output"]
    assert final.id == body["id"] and final.output_text == "Oslo is cold."
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 10


async def test_async_responses_create_stream_ends_with_the_line_response(stack: Stack, prompt) -> None:
    text = prompt("arstream")
    client = stack.async_client()
    stream = await client.responses.create(model="gpt-4o-mini", input=text, stream=True)
    events = [event async for event in stream]
    await client.close()
    assert [e.type for e in events] == SIMPLE_EVENTS
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == expected_response_text({"input": text}) == events[-1].response.output_text


def test_raw_responses_stream_is_named_events_without_done(stack: Stack, prompt) -> None:
    text = prompt("raw-rstream")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        answer = http.post("/v1/responses", json={"model": "gpt-4o-mini", "input": text, "stream": True})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-batchgpt-request-id"].startswith("req_")
    events = sse_data(answer.text)
    assert [name for name, _ in events] == SIMPLE_EVENTS
    assert all(json.loads(data)["type"] == name for name, data in events)


def test_completions_stream_replays_text_and_usage(stack: Stack, prompt) -> None:
    text = prompt("cstream")
    stream = stack.client().completions.create(
        model="gpt-3.5-turbo-instruct", prompt=text, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "text_completion" for c in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == expected_completion_text({"prompt": text})
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        raw = http.post("/v1/completions", json={"model": "gpt-3.5-turbo-instruct", "prompt": text, "stream": True})
    assert raw.text.endswith("data: [DONE]\n\n")


def test_completions_stream_keeps_every_choice_and_its_logprobs(stack: Stack, prompt) -> None:
    text = prompt("[hold] rich-cstream")
    body = rich_completion()

    def call() -> list[Any]:
        return list(stack.client().completions.create(model="gpt-3.5-turbo-instruct", prompt=text, stream=True))

    chunks = stack.stand_in.answer_during(call, text, 200, body)
    for choice in body["choices"]:
        mine = [c.choices[0] for c in chunks if c.choices[0].index == choice["index"]]
        assert "".join(c.text for c in mine) == choice["text"]
        assert mine[-1].finish_reason == choice["finish_reason"]
        assert [_dump(c.logprobs) for c in mine if c.logprobs is not None] == (
            [choice["logprobs"]] if choice["logprobs"] else []
        )
    assert all(c.id == body["id"] and c.system_fingerprint == "fp_rich" for c in chunks)


def test_chat_stream_keeps_annotations_audio_logprobs_and_tool_calls(stack: Stack, prompt) -> None:
    text = prompt("[hold] rich-chat")
    body = rich_chat_completion()

    def call() -> Any:
        with stack.client().chat.completions.stream(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], n=2
        ) as stream:
            return stream.get_final_completion()

    final = stack.stand_in.answer_during(call, text, 200, body)
    first, second = final.choices
    expected_first, expected_second = body["choices"]
    assert first.message.content == expected_first["message"]["content"]
    assert [_dump(a) for a in first.message.annotations or []] == expected_first["message"]["annotations"]
    assert first.message.audio is not None and _dump(first.message.audio) == expected_first["message"]["audio"]
    assert first.logprobs is not None and _dump(first.logprobs) == expected_first["logprobs"]
    assert second.message.content is None and second.finish_reason == "tool_calls"
    assert [(c.id, c.function.name, c.function.arguments) for c in second.message.tool_calls or []] == [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in expected_second["message"]["tool_calls"]
    ]
    assert final.usage is None  # not asked for (stream_options.include_usage)


def test_a_failing_responses_stream_raises_bad_request(stack: Stack, prompt) -> None:
    text = prompt("[sim:error=400:invalid_prompt] failing stream")
    with pytest.raises(openai.BadRequestError) as caught:
        with stack.client().responses.stream(model="gpt-4o-mini", input=text) as stream:
            list(stream)
    assert caught.value.status_code == 400 and caught.value.code == "invalid_prompt"


def test_a_stream_held_until_its_error_raises_the_class_of_its_status(stack: Stack, prompt) -> None:
    text = prompt("[hold] chat stream error")
    error = {
        "error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }

    def call() -> Any:
        return list(
            stack.client().chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
            )
        )

    with pytest.raises(openai.RateLimitError) as caught:
        stack.stand_in.answer_during(call, text, 429, error)
    assert caught.value.status_code == 429 and caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["content-type"].startswith("application/json")


async def test_async_streams_raise_the_same_classes(stack: Stack, prompt) -> None:
    client = stack.async_client()
    with pytest.raises(openai.BadRequestError) as bad:
        await client.responses.create(model="gpt-4o-mini", input=prompt("[sim:error=400] astream"), stream=True)
    with pytest.raises(openai.InternalServerError) as broken:
        await client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt=prompt("[sim:error=500] acstream"), stream=True
        )
    await client.close()
    assert bad.value.status_code == 400 and broken.value.status_code == 500


async def test_concurrent_streams_each_get_their_own_events(stack: Stack, prompt) -> None:
    client = stack.async_client()
    texts = [prompt(f"many-{i}") for i in range(4)]

    async def one(text: str) -> str:
        stream = await client.responses.create(model="gpt-4o-mini", input=text, stream=True)
        return "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])

    assert await asyncio.gather(*(one(t) for t in texts)) == [expected_response_text({"input": t}) for t in texts]
    await client.close()


def test_a_stored_result_is_replayed_as_the_same_stream(stack: Stack, prompt) -> None:
    text = prompt("replay-stored")
    client = stack.client()
    with client.responses.stream(model="gpt-4o-mini", input=text, temperature=0) as first:
        first_final = first.get_final_response()
    with client.responses.stream(model="gpt-4o-mini", input=text, temperature=0) as second:
        events = list(second)
        second_final = second.get_final_response()
    assert len(stack.stand_in.with_text(text)) == 1  # the second call was answered from the stored result
    assert [e.type for e in events] == SIMPLE_EVENTS
    assert second_final.id == first_final.id and second_final.output_text == expected_response_text({"input": text})
