"""``POST /v1/messages`` and ``GET /v1/messages/{id}`` with the official anthropic SDK (sync, async, stream, errors).

The pipeline stand-in answers each call with the simulator's Message for it, as a Message Batches result would
carry it; every error on these paths is Anthropic's ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import httpx2
import pytest

from batchgpt.simulator.message_answers import expected_message_text
from batchgpt.simulator.settings import DEFAULT_ANTHROPIC_MODELS
from batchgpt.simulator.testing import RunningSimulator
from schemas.status import Endpoint
from tests.ingress.conftest import ALICE, Stack
from tests.simulator.conftest import shared_sim, sim  # noqa: F401  (the simulator serves Anthropic's models)
from tests.support.waiting import async_wait_for, wait_for

MODEL = "claude-test-model"


def _client(stack: Stack, **kwargs: Any) -> anthropic.Anthropic:
    kwargs.setdefault("api_key", ALICE)
    return anthropic.Anthropic(base_url=stack.base_url, max_retries=0, **kwargs)


def _body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": text}], **extra}


def _assert_anthropic_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == error_type and response.json()["error"]["message"]
    assert set(response.json()["error"]) == {"type", "message"}


def test_sync_create_is_answered_with_the_message_and_the_body_passes_through(
    stack: Stack, prompt: Callable[[str], str]
) -> None:
    text = prompt("sync")
    message = _client(stack).messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": text}],
        extra_body={"temperature": 0, "x_unknown": {"kept": True}},
    )
    assert message.type == "message" and message.content[0].type == "text"
    assert message.content[0].text == expected_message_text(_body(text))
    (sent,) = stack.stand_in.with_text(text)
    assert sent.endpoint is Endpoint.MESSAGES
    assert sent.body == _body(text, temperature=0, x_unknown={"kept": True})


async def test_async_create_with_a_bearer_token(stack: Stack, prompt: Callable[[str], str]) -> None:
    text = prompt("async")
    client = anthropic.AsyncAnthropic(base_url=stack.base_url, auth_token=ALICE, max_retries=0)
    async with client:
        message = await client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": text}])
    assert message.content[0].type == "text" and message.content[0].text == expected_message_text(_body(text))


def test_stream_replays_the_finished_message(stack: Stack, prompt: Callable[[str], str]) -> None:
    text = prompt("stream")
    with _client(stack).messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": text}]) as s:
        final_text = s.get_final_text()
        final = s.get_final_message()
    assert final_text == expected_message_text(_body(text))
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    (sent,) = stack.stand_in.with_text(text)
    assert "stream" in sent.body  # passed on as sent; the collator leaves it out of the batch line


def test_an_errored_result_raises_the_sdks_error_class(stack: Stack, prompt: Callable[[str], str]) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        _client(stack).messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": prompt("[sim:invalid]")}]
        )
    assert caught.value.status_code == 400
    assert isinstance(caught.value.body, dict) and caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_bad_input_and_keys_get_anthropics_error_body(stack: Stack, start_ingress: Callable[..., Any]) -> None:
    url = f"{stack.base_url}/v1/messages"
    headers = {"x-api-key": ALICE, "anthropic-version": "2023-06-01"}
    for body, in_message in [
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 5}, "model"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": MODEL, "max_tokens": "5", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": MODEL, "max_tokens": 5}, "messages"),
    ]:
        response = httpx.post(url, json=body, headers=headers)
        _assert_anthropic_error(response, 400, "invalid_request_error")
        assert in_message in response.json()["error"]["message"]
    _assert_anthropic_error(httpx.post(url, content=b"{nope", headers=headers), 400, "invalid_request_error")
    wrong = httpx.post(url, json=_body("x"), headers={"x-api-key": "sk-wrong"})
    _assert_anthropic_error(wrong, 401, "authentication_error")
    _assert_anthropic_error(httpx.post(url, json=_body("x")), 401, "authentication_error")
    with pytest.raises(anthropic.AuthenticationError):
        _client(stack, api_key="sk-wrong").messages.create(model=MODEL, max_tokens=5, messages=[])
    small = start_ingress(max_body_bytes=1024)
    big = httpx.post(f"{small.base_url}/v1/messages", json=_body("x" * 4096), headers=headers)
    _assert_anthropic_error(big, 413, "request_too_large")
    assert httpx.get(f"{stack.base_url}/v1/messages/req_unknown", headers=headers).json()["error"]["type"] == (
        "not_found_error"
    )


def test_an_async_caller_fetches_its_result_by_id(stack: Stack, prompt: Callable[[str], str]) -> None:
    text = prompt("[hold] fetched")
    headers = {"x-api-key": ALICE, "anthropic-version": "2023-06-01", "prefer": "respond-async"}
    accepted = httpx.post(f"{stack.base_url}/v1/messages", json=_body(text), headers=headers)
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["id"]
    assert accepted.headers["location"] == f"/v1/messages/{request_id}"
    pending = httpx.get(f"{stack.base_url}{accepted.headers['location']}", headers=headers)
    assert pending.status_code == 202
    wait_for(lambda: stack.stand_in.message(request_id), what="the request on the topic")
    stack.stand_in.release(request_id)
    done = wait_for(
        lambda: (
            (r := httpx.get(f"{stack.base_url}/v1/messages/{request_id}", headers=headers)).status_code == 200 and r
        ),
        what="the stored result",
    )
    assert done.json()["type"] == "message"
    assert done.json()["content"][0]["text"] == expected_message_text(_body(text))
    assert json.loads(done.text) == done.json()


async def test_a_call_whose_timeout_passes_is_retried_by_the_sdk_and_reattaches(
    stack: Stack, prompt: Callable[[str], str]
) -> None:
    text = prompt("[hold] anthropic-timeout")
    statuses: list[int] = []
    pending_bodies: list[dict[str, Any]] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)
        if response.status_code == 504:
            pending_bodies.append(json.loads(await response.aread()))

    client = anthropic.AsyncAnthropic(
        base_url=stack.base_url,
        api_key=ALICE,
        timeout=2.0,  # the call is held 1.8 s, then gets a retryable 504 (result_pending) in Anthropic's body
        http_client=anthropic.DefaultAsyncHttpxClient(event_hooks={"response": [record]}),
    )
    call = asyncio.ensure_future(
        client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": text}])
    )
    [message] = await asyncio.to_thread(wait_for, lambda: stack.stand_in.with_text(text), 15, 0.05, "produced")

    async def retried_and_held() -> bool:
        return 504 in statuses and message.request_id in stack.ingress.service.correlator

    await async_wait_for(retried_and_held, timeout_s=15, what="the SDK's retry held on the same request")
    await asyncio.to_thread(stack.stand_in.answer, message)
    reply = await call
    await client.close()
    assert reply.content[0].type == "text" and reply.content[0].text == expected_message_text(_body(text))
    assert pending_bodies[0]["type"] == "error" and pending_bodies[0]["error"]["type"] == "timeout_error"
    assert 202 not in statuses and statuses[-1] == 200
    assert len(stack.stand_in.with_text(text)) == 1, "the retry re-attached instead of adding a line"


def test_an_anthropic_client_lists_anthropics_models(
    sim: RunningSimulator,  # noqa: F811
    start_ingress: Callable[..., Any],
) -> None:
    ingress = start_ingress(anthropic_api_key="sk-ant-test", anthropic_base_url=sim.root_url)
    client = anthropic.Anthropic(base_url=ingress.base_url, api_key=ALICE, max_retries=0)
    listed = [model.id for model in client.models.list()]
    assert listed == list(DEFAULT_ANTHROPIC_MODELS)
    one = client.models.retrieve(DEFAULT_ANTHROPIC_MODELS[0])
    assert one.type == "model" and one.id == DEFAULT_ANTHROPIC_MODELS[0]
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-none")
    openai_view = httpx.get(f"{ingress.base_url}/v1/models", headers={"authorization": f"Bearer {ALICE}"})
    assert openai_view.status_code in (200, 503) and "claude-opus-4-6" not in openai_view.text  # OpenAI's list


def test_a_retry_of_a_message_recorded_but_never_produced_is_answered_within_seconds(
    stack: Stack, prompt: Callable[[str], str]
) -> None:
    """Anthropic's path re-attaches as OpenAI's: a re-send at once of a request whose replica died between
    recording and producing it is produced again once old enough to judge, and answered."""
    body = _body(prompt("lost-produce"))
    text = body["messages"][0]["content"]
    request_id = stack.record_without_producing(Endpoint.MESSAGES, body, received_at=time.time())
    client = _client(stack)
    started = time.monotonic()
    raw = client.messages.with_raw_response.create(**body, extra_headers={"x-stainless-retry-count": "1"})
    took = time.monotonic() - started
    message = raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == expected_message_text(body)
    assert raw.headers["batchgpt-request-id"] == request_id
    assert took < 10, f"answered after {took:.1f}s: the re-send waited instead of producing the lost request"
    assert [m.request_id for m in stack.stand_in.with_text(text)] == [request_id]
