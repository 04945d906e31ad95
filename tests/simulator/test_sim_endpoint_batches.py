"""Batches for every simulated endpoint (responses, chat, embeddings, completions, moderations): each output
line's ``response.body`` is the endpoint's object (validated against the SDK's types), with a
``req_`` request id; tool calls and structured outputs in batch lines; the endpoint list; the embeddings cap."""

from __future__ import annotations

import json
import re
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types import Batch, Completion, CreateEmbeddingResponse, ModerationCreateResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from pydantic import BaseModel

from batchgpt.simulator.answers import (
    expected_chat_content,
    expected_completion_text,
    expected_embedding,
    expected_response_text,
    expected_tool_call,
)
from batchgpt.simulator.schema_instances import minimal_instance
from batchgpt.simulator.testing import RunningSimulator
from tests.support.conformance import assert_conforms

from .batch_inputs import async_wait_status, jsonl, read_lines, submit, wait_status

RESPONSES, CHAT, EMBEDDINGS = "/v1/responses", "/v1/chat/completions", "/v1/embeddings"
COMPLETIONS, MODERATIONS = "/v1/completions", "/v1/moderations"
PROMPTS = ["first prompt", "second prompt", "third prompt"]


def _line(custom_id: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


ENDPOINT_CASES: list[tuple[str, type[BaseModel], Any]] = [
    (RESPONSES, Response, lambda text: {"model": "gpt-4.1-mini", "input": text}),
    (CHAT, ChatCompletion, lambda text: {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}),
    (EMBEDDINGS, CreateEmbeddingResponse, lambda text: {"model": "text-embedding-3-small", "input": [text]}),
    (COMPLETIONS, Completion, lambda text: {"model": "gpt-3.5-turbo-instruct", "prompt": text, "max_tokens": 64}),
    (MODERATIONS, ModerationCreateResponse, lambda text: {"model": "omni-moderation-latest", "input": text}),
]


def _expected(endpoint: str, body: dict[str, Any], result: Any) -> None:
    if endpoint == RESPONSES:
        assert result.output_text == expected_response_text(body)
    elif endpoint == CHAT:
        assert result.choices[0].message.content == expected_chat_content(body)
    elif endpoint == EMBEDDINGS:
        assert result.data[0].embedding == expected_embedding(body["input"][0])
    elif endpoint == COMPLETIONS:
        assert result.choices[0].text == expected_completion_text(body)
    else:
        assert result.results[0].flagged is False


@pytest.mark.parametrize(("endpoint", "model", "make_body"), ENDPOINT_CASES, ids=[c[0] for c in ENDPOINT_CASES])
def test_every_endpoint_runs_in_a_batch(client: OpenAI, endpoint: str, model: type[BaseModel], make_body: Any) -> None:
    bodies = {f"r{i}": make_body(text) for i, text in enumerate(PROMPTS)}
    batch = submit(client, [_line(cid, endpoint, body) for cid, body in bodies.items()], endpoint=endpoint)
    assert batch.endpoint == endpoint
    done = wait_status(client, batch.id)
    assert done.status == "completed" and done.request_counts is not None and done.request_counts.completed == 3
    assert done.model == next(iter(bodies.values()))["model"]
    assert done.usage is not None and done.usage.input_tokens > 0
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens
    lines = read_lines(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in lines) == sorted(bodies)
    request_ids = set()
    for line in lines:
        response = line["response"]
        assert response["status_code"] == 200 and re.fullmatch(r"req_[0-9a-f]{32}", response["request_id"])
        request_ids.add(response["request_id"])
        _expected(endpoint, bodies[line["custom_id"]], assert_conforms(model, response["body"]))
    assert len(request_ids) == 3
    assert_conforms(Batch, client.batches.with_raw_response.retrieve(batch.id).http_response.json())


def test_tool_calls_and_structured_outputs_in_batch_lines(client: OpenAI) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 2}}, "required": ["n"]}
    chat_tools = [{"type": "function", "function": {"name": "count", "parameters": schema}}]
    chat_tool_body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "count"}], "tools": chat_tools}
    chat_json_body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "json please"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": schema, "strict": True}},
    }
    chat = wait_status(
        client,
        submit(client, [_line("tool", CHAT, chat_tool_body), _line("json", CHAT, chat_json_body)]).id,
    )
    by_id = {line["custom_id"]: line["response"]["body"] for line in read_lines(client, chat.output_file_id)}
    tool_message = by_id["tool"]["choices"][0]["message"]
    call = expected_tool_call(CHAT, chat_tool_body)
    assert call is not None and by_id["tool"]["choices"][0]["finish_reason"] == "tool_calls"
    assert tool_message["content"] is None
    assert tool_message["tool_calls"][0]["function"] == {"name": "count", "arguments": '{"n":2}'} == vars(call)
    assert by_id["json"]["choices"][0]["message"]["content"] == '{"n": 2}'
    assert minimal_instance(schema) == {"n": 2}

    response_tools = [{"type": "function", "name": "count", "parameters": schema}]
    tool_body = {"model": "gpt-4o", "input": "count", "tools": response_tools, "tool_choice": "required"}
    json_body = {
        "model": "gpt-4o",
        "input": "json please",
        "text": {"format": {"type": "json_schema", "name": "n", "schema": schema}},
    }
    responses = wait_status(
        client,
        submit(
            client, [_line("tool", RESPONSES, tool_body), _line("json", RESPONSES, json_body)], endpoint=RESPONSES
        ).id,
    )
    by_id = {line["custom_id"]: line["response"]["body"] for line in read_lines(client, responses.output_file_id)}
    [item] = by_id["tool"]["output"]
    assert (item["type"], item["name"], item["arguments"]) == ("function_call", "count", '{"n":2}')
    assert assert_conforms(Response, by_id["json"]).output_text == '{"n": 2}'


def test_errors_in_lines_of_the_new_endpoints(client: OpenAI) -> None:
    lines = [
        _line("ok", RESPONSES, {"model": "gpt-4o", "input": "fine"}),
        _line("bad", RESPONSES, {"model": "gpt-4o", "input": [{"role": "user", "content": "x [sim:error=400]"}]}),
        _line("named", RESPONSES, {"model": "gpt-4o", "input": "x", "text": {"format": {"type": "json_schema"}}}),
    ]
    done = wait_status(client, submit(client, lines, endpoint=RESPONSES).id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 2)
    errors = {line["custom_id"]: line for line in read_lines(client, done.error_file_id)}
    assert errors["bad"]["response"]["status_code"] == 400 and errors["bad"]["error"] is None
    assert re.fullmatch(r"req_[0-9a-f]{32}", errors["bad"]["response"]["request_id"])
    assert errors["named"]["response"]["body"]["error"]["param"] == "text.format.name"
    streaming = [_line("s", COMPLETIONS, {"model": "davinci-002", "prompt": "x", "stream": True})]
    failed = wait_status(client, submit(client, streaming, endpoint=COMPLETIONS).id)
    assert failed.errors is not None
    [error] = failed.errors.data
    assert (error.code, error.param) == ("streaming_unsupported", "body.stream")
    assert error.message == "Completions: Streaming is not supported in the Batch API."
    missing = [_line("m", MODERATIONS, {"model": "omni-moderation-latest"})]
    failed = wait_status(client, submit(client, missing, endpoint=MODERATIONS).id)
    assert failed.errors is not None and [(e.code, e.param) for e in failed.errors.data] == [
        ("invalid_request", "body.input")
    ]


def test_endpoint_list(client: OpenAI) -> None:
    file_id = client.files.create(
        file=("in.jsonl", jsonl([_line("a", RESPONSES, {"model": "gpt-4o", "input": "x"})]), "application/jsonl"),
        purpose="batch",
    ).id
    for endpoint in ("/v1/images/generations", "/v1/images/edits", "/v1/videos", "/v1/audio/speech"):
        with pytest.raises(openai.BadRequestError) as refused:
            client.batches.create(input_file_id=file_id, endpoint=endpoint, completion_window="24h")  # type: ignore[arg-type]
        assert (refused.value.param, refused.value.code) == ("endpoint", "invalid_value")
    assert "'/v1/moderations', '/v1/images/generations'" in str(refused.value.message)
    for endpoint in (RESPONSES, CHAT, EMBEDDINGS, COMPLETIONS, MODERATIONS):
        client.batches.create(input_file_id=file_id, endpoint=endpoint, completion_window="24h")  # type: ignore[arg-type]


def test_embeddings_batches_hold_at_most_the_input_cap(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(max_embedding_inputs=4)
    body = {"model": "text-embedding-3-small"}
    at_cap = [
        _line("a", EMBEDDINGS, {**body, "input": ["1", "2"]}),
        _line("b", EMBEDDINGS, {**body, "input": ["3", "4"]}),
    ]
    assert wait_status(client, submit(client, at_cap, endpoint=EMBEDDINGS).id).status == "completed"
    over = [*at_cap, _line("c", EMBEDDINGS, {**body, "input": "5"})]
    failed = wait_status(client, submit(client, over, endpoint=EMBEDDINGS).id)
    assert failed.status == "failed" and failed.errors is not None
    assert [(e.code, e.line) for e in failed.errors.data] == [("too_many_tasks", None)]
    assert "5 embedding inputs" in (failed.errors.data[0].message or "")
    assert sim.stats()["lines_executed"] == 2  # the lines of the batch at the cap; none of the failed one


async def test_async_responses_batch(aclient: AsyncOpenAI) -> None:
    body = {"model": "gpt-4o", "input": "async batch"}
    uploaded = await aclient.files.create(
        file=("in.jsonl", jsonl([_line("a", RESPONSES, body)]), "application/jsonl"), purpose="batch"
    )
    batch = await aclient.batches.create(input_file_id=uploaded.id, endpoint=RESPONSES, completion_window="24h")
    done = await async_wait_status(aclient, batch.id)
    assert done.output_file_id is not None
    content = await aclient.files.content(done.output_file_id)
    [line] = [json.loads(raw) for raw in content.text.splitlines()]
    assert assert_conforms(Response, line["response"]["body"]).output_text == expected_response_text(body)


MARKED_BODIES = {
    RESPONSES: lambda text: {"model": "gpt-4o", "input": [{"role": "user", "content": text}]},
    COMPLETIONS: lambda text: {"model": "davinci-002", "prompt": [text]},
    MODERATIONS: lambda text: {"model": "omni-moderation-latest", "input": ["calm", text]},
}


@pytest.mark.parametrize("endpoint", list(MARKED_BODIES))
def test_markers_in_batch_lines_of_the_new_endpoints(sim: RunningSimulator, client: OpenAI, endpoint: str) -> None:
    sim.configure(completion_window_seconds=0.3)
    make_body = MARKED_BODIES[endpoint]
    lines = [
        _line("ok", endpoint, make_body("fine")),
        _line("error", endpoint, make_body("x [sim:error=422:bad_thing]")),
        _line("slow", endpoint, make_body("x [sim:slow]")),
    ]
    expired = wait_status(client, submit(client, lines, endpoint=endpoint).id)
    assert expired.status == "expired"
    assert [line["custom_id"] for line in read_lines(client, expired.output_file_id)] == ["ok"]
    errors = {line["custom_id"]: line for line in read_lines(client, expired.error_file_id)}
    assert errors["error"]["response"]["status_code"] == 422
    assert errors["error"]["response"]["body"]["error"]["code"] == "bad_thing"
    assert errors["slow"]["response"] is None and errors["slow"]["error"]["code"] == "batch_expired"
