"""Every object batch-gpt returns, validated against the official SDK's own pydantic types field by field:
no field the SDK does not declare, nothing dropped, renamed or coerced (see :mod:`tests.support.conformance`).

The models list is checked in ``test_models.py`` (it needs an upstream)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from openai.types import Batch, Completion, CreateEmbeddingResponse, ModerationCreateResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.shared import ErrorObject

from tests.ingress.conftest import ALICE, Stack
from tests.ingress.rich_objects import rich_chat_completion, rich_completion, rich_response
from tests.ingress.test_batches import insert_batch
from tests.support.conformance import assert_conforms, sse_data

AUTH = {"Authorization": f"Bearer {ALICE}"}
OBJECTS = {
    "/v1/chat/completions": ChatCompletion,
    "/v1/responses": Response,
    "/v1/completions": Completion,
    "/v1/embeddings": CreateEmbeddingResponse,
    "/v1/moderations": ModerationCreateResponse,
}
STREAMED = {
    "/v1/chat/completions": ChatCompletionChunk,
    "/v1/responses": ResponseStreamEvent,
    "/v1/completions": Completion,
}
RICH = {
    "/v1/chat/completions": rich_chat_completion,
    "/v1/responses": rich_response,
    "/v1/completions": rich_completion,
}


def _body(path: str, text: str, **extra: Any) -> dict[str, Any]:
    if path == "/v1/chat/completions":
        return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}
    if path == "/v1/completions":
        return {"model": "gpt-3.5-turbo-instruct", "prompt": text, **extra}
    if path == "/v1/embeddings":
        return {"model": "text-embedding-3-small", "input": [text], "dimensions": 8, **extra}
    if path == "/v1/moderations":
        return {"input": text, **extra}
    return {"model": "gpt-4o-mini", "input": text, **extra}


def _post(stack: Stack, path: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=60) as http:
        return http.post(path, json=body)


def _events(path: str, answer: httpx.Response) -> list[dict[str, Any]]:
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    return [json.loads(data) for _, data in sse_data(answer.text) if data != "[DONE]"]


@pytest.mark.parametrize("path", list(OBJECTS))
def test_every_endpoint_answers_the_sdk_object(stack: Stack, prompt, path: str) -> None:
    answer = _post(stack, path, _body(path, prompt(f"conform {path}")))
    assert answer.status_code == 200, answer.text
    assert_conforms(OBJECTS[path], answer.json())


@pytest.mark.parametrize("path", list(RICH))
def test_rich_objects_pass_through_and_conform(stack: Stack, prompt, path: str) -> None:
    text = prompt(f"[hold] rich conform {path}")
    rich = RICH[path]()
    assert_conforms(OBJECTS[path], rich)  # the fixture itself is OpenAI's shape
    answer = stack.stand_in.answer_during(lambda: _post(stack, path, _body(path, text)), text, 200, rich)
    assert answer.json() == rich
    assert_conforms(OBJECTS[path], answer.json())


@pytest.mark.parametrize("path", list(STREAMED))
def test_every_streamed_event_is_the_sdk_event(stack: Stack, prompt, path: str) -> None:
    extra: dict[str, Any] = {"stream": True}
    if path != "/v1/responses":
        extra["stream_options"] = {"include_usage": True}
    events = _events(path, _post(stack, path, _body(path, prompt(f"conform stream {path}"), **extra)))
    assert events
    for event in events:
        assert_conforms(STREAMED[path], event)


@pytest.mark.parametrize("path", list(STREAMED))
def test_every_event_of_a_rich_replay_is_the_sdk_event(stack: Stack, prompt, path: str) -> None:
    text = prompt(f"[hold] rich conform stream {path}")
    extra: dict[str, Any] = {"stream": True}
    if path != "/v1/responses":
        extra["stream_options"] = {"include_usage": True}
    answer = stack.stand_in.answer_during(
        lambda: _post(stack, path, _body(path, text, **extra)), text, 200, RICH[path]()
    )
    for event in _events(path, answer):
        assert_conforms(STREAMED[path], event)


def test_batch_objects_and_pages_are_the_sdk_batch(stack: Stack) -> None:
    batch_id = insert_batch(stack, ALICE, status="completed", terminal_at=time.time())
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        single = http.get(f"/v1/batches/{batch_id}").json()
        page = http.get("/v1/batches", params={"limit": 2}).json()
    assert_conforms(Batch, single)
    assert set(page) == {"object", "data", "first_id", "last_id", "has_more"} and page["object"] == "list"
    for item in page["data"]:
        assert_conforms(Batch, item)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/v1/responses", {"model": "gpt-4o-mini"}, AUTH),
        ("POST", "/v1/moderations", b"not json", AUTH),
        ("POST", "/v1/completions", {"model": "m", "prompt": "x"}, {"Authorization": "Bearer wrong"}),
        ("GET", "/v1/responses/req_unknown", None, AUTH),
        ("GET", "/v1/batches/bg_unknown", None, AUTH),
    ],
)
def test_error_envelopes_are_the_sdk_error_object(
    stack: Stack, method: str, path: str, body: Any, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as http:
        if isinstance(body, bytes):
            answer = http.request(method, path, content=body)
        else:
            answer = http.request(method, path, json=body)
    assert answer.status_code >= 400
    envelope = answer.json()
    assert set(envelope) == {"error"}
    assert_conforms(ErrorObject, envelope["error"])


def test_a_line_error_is_the_sdk_error_object(stack: Stack, prompt) -> None:
    answer = _post(stack, "/v1/responses", _body("/v1/responses", prompt("[sim:error=400:invalid_prompt] conform")))
    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert_conforms(ErrorObject, answer.json()["error"])
