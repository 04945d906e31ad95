"""The SDK edge rules through the official openai SDK (sync and async, default retries) against a real ingress,
broker and database: no 202 unless asked, re-attach on SDK retries only, the cache, retry hints, request ids."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from batchgpt.simulator.answers import expected_chat_content
from resolver.results import error_envelope
from tests.ingress.conftest import ALICE, Stack
from tests.support.waiting import async_wait_for, wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}


def _chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


@dataclass
class Exchanges:
    """Every HTTP response an SDK client received: (method, status, headers), in order."""

    seen: list[tuple[str, int, Any]] = field(default_factory=list)

    def record(self, response: Any) -> None:
        self.seen.append((response.request.method, response.status_code, response.headers))

    async def record_async(self, response: Any) -> None:
        self.record(response)

    @property
    def statuses(self) -> list[int]:
        return [status for _, status, _ in self.seen]

    @property
    def posts(self) -> int:
        return sum(1 for method, _, _ in self.seen if method == "POST")

    def headers(self, index: int) -> Any:
        return self.seen[index][2]

    def sync_client(self, stack: Stack, **kwargs: Any) -> OpenAI:
        """The sync SDK with its default retries, recording what it receives."""
        http_client = openai.DefaultHttpxClient(event_hooks={"response": [self.record]})
        return stack.client(http_client=http_client, max_retries=openai.DEFAULT_MAX_RETRIES, **kwargs)

    def async_client(self, stack: Stack, **kwargs: Any) -> AsyncOpenAI:
        """The async SDK with its default retries, recording what it receives."""
        http_client = openai.DefaultAsyncHttpxClient(event_hooks={"response": [self.record_async]})
        return stack.async_client(http_client=http_client, max_retries=openai.DEFAULT_MAX_RETRIES, **kwargs)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``call`` in a thread; the box gets its result ("ok") or its exception ("error")."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["ok"] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


# ------------------------------------------------------------------ waiting: no 202 unless asked


def test_a_client_whose_timeout_passes_gets_no_202_and_finally_its_completion(stack: Stack, prompt) -> None:
    text = prompt("[hold] sdk-timeout")
    exchanges = Exchanges()
    client = exchanges.sync_client(stack, timeout=2.0)  # held 1.8 s, then a retryable answer
    thread, box = _in_thread(lambda: client.chat.completions.create(**_chat(text)))
    [message] = wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15, what="the request produced")
    wait_for(lambda: 504 in exchanges.statuses, timeout_s=15, what="the first attempt's wait to pass")
    correlator = stack.ingress.service.correlator
    wait_for(lambda: message.request_id in correlator, timeout_s=15, what="the SDK's retry held on the same request")
    stack.stand_in.answer(message)
    thread.join(timeout=20)
    completion = box["ok"]
    assert completion.choices[0].message.content == expected_chat_content(_chat(text))
    assert 202 not in exchanges.statuses and exchanges.statuses[-1] == 200
    pending = exchanges.headers(0)
    assert pending["x-should-retry"] == "true" and int(pending["retry-after"]) >= 1
    assert pending["location"] == f"/v1/chat/completions/{message.request_id}"
    assert pending["batchgpt-request-id"] == message.request_id
    assert len(stack.stand_in.with_text(text)) == 1, "the retry re-attached instead of adding a line"


async def test_an_async_client_whose_timeout_passes_gets_its_completion_through_a_retry(stack: Stack, prompt) -> None:
    text = prompt("[hold] async-timeout")
    exchanges = Exchanges()
    client = exchanges.async_client(stack, timeout=2.0)
    call = asyncio.ensure_future(client.chat.completions.create(**_chat(text)))
    [message] = await asyncio.to_thread(wait_for, lambda: stack.stand_in.with_text(text), 15, 0.05, "produced")

    async def retried_and_held() -> bool:
        return 504 in exchanges.statuses and message.request_id in stack.ingress.service.correlator

    await async_wait_for(retried_and_held, timeout_s=15, what="the retry held on the same request")
    await asyncio.to_thread(stack.stand_in.answer, message)
    completion = await call
    assert completion.choices[0].message.content == expected_chat_content(_chat(text))
    assert 202 not in exchanges.statuses and len(stack.stand_in.with_text(text)) == 1
    await client.close()


def test_asking_for_async_answers_still_gets_a_202(stack: Stack, prompt) -> None:
    text = prompt("[hold] asked")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        waited = http.post("/v1/chat/completions", json=_chat(text), headers={"Prefer": "wait=0.5"})
    assert waited.status_code == 202 and waited.headers["batchgpt-request-id"] == waited.json()["id"]


# ------------------------------------------------------------------ re-attach and the cache


def test_two_samples_at_temperature_1_are_two_requests(stack: Stack, prompt) -> None:
    client = stack.client()
    text = prompt("sample")
    one = client.chat.completions.create(**_chat(text, temperature=1))
    two = client.chat.completions.create(**_chat(text, temperature=1))
    assert one.id != two.id
    assert len(stack.stand_in.with_text(text)) == 2
    greedy = prompt("greedy")
    first = client.chat.completions.create(**_chat(greedy, temperature=0))
    again = client.chat.completions.create(**_chat(greedy, temperature=0))
    assert again.id == first.id and len(stack.stand_in.with_text(greedy)) == 1


async def test_async_samples_and_deterministic_answers(stack: Stack, prompt) -> None:
    client = stack.async_client()
    text = prompt("async-sample")
    one = await client.chat.completions.create(**_chat(text))  # OpenAI's default temperature samples
    two = await client.chat.completions.create(**_chat(text))
    assert one.id != two.id and len(stack.stand_in.with_text(text)) == 2
    words = prompt("embed-again")
    first = await client.embeddings.create(model="text-embedding-3-small", input=words)
    again = await client.embeddings.create(model="text-embedding-3-small", input=words)
    assert again.data[0].embedding == first.data[0].embedding and len(stack.stand_in.with_text(words)) == 1
    await client.close()


def test_a_transient_failure_is_not_replayed_to_the_sdk_retry_nor_to_a_new_call(stack: Stack, prompt) -> None:
    text = prompt("[hold] not-replayed")
    body = _chat(text, temperature=0)  # the cache would serve a success
    exchanges = Exchanges()
    client = exchanges.sync_client(stack)
    thread, box = _in_thread(lambda: client.chat.completions.create(**body))
    [first] = wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15, what="the request produced")
    unavailable = error_envelope("The Batch API was unavailable.", code="upstream_unavailable", status_code=503)
    stack.stand_in.answer(first, status_code=503, body=unavailable, upstream_request_id=None)
    # the SDK's retry, which the 503's x-should-retry: true asked for, is a new request, not the 503 again
    second = wait_for(lambda: stack.stand_in.with_text(text)[1:], timeout_s=15, what="the retry as a new request")[0]
    stack.stand_in.answer(second)
    thread.join(timeout=30)
    assert box["ok"].choices[0].message.content == expected_chat_content(body)
    assert exchanges.statuses == [503, 200] and exchanges.posts == 2
    # a new call is served the success from the cache (temperature 0), never the stored 503
    again = stack.client().chat.completions.create(**body)
    assert again.choices[0].message.content == expected_chat_content(body)
    assert len(stack.stand_in.with_text(text)) == 2


# ------------------------------------------------------------------ retry hints on each terminal outcome

OUTCOMES = [
    pytest.param(400, "context_length_exceeded", openai.BadRequestError, False, id="line-error-400"),
    pytest.param(400, "missing_required_parameter", openai.BadRequestError, False, id="batch-failed-by-the-line"),
    pytest.param(409, "batch_cancelled", openai.ConflictError, False, id="cancelled"),
    pytest.param(504, "batch_expired", openai.InternalServerError, True, id="expired"),
    pytest.param(502, "missing_result", openai.InternalServerError, True, id="missing-result"),
    pytest.param(502, "batch_failed", openai.InternalServerError, True, id="failed-by-other-lines"),
    pytest.param(502, "batch_not_found", openai.InternalServerError, True, id="batch-not-found"),
    pytest.param(429, "token_limit_exceeded", openai.RateLimitError, True, id="token-limit"),
    pytest.param(503, "upstream_unavailable", openai.InternalServerError, True, id="upstream-unavailable"),
]


@pytest.mark.parametrize(("status", "code", "error_class", "transient"), OUTCOMES)
def test_each_terminal_outcome_says_whether_a_retry_can_help(
    stack: Stack, prompt, status: int, code: str, error_class: type[openai.APIStatusError], transient: bool
) -> None:
    text = prompt(f"[hold] outcome-{code}")
    exchanges = Exchanges()
    client = exchanges.sync_client(stack)
    thread, box = _in_thread(lambda: client.chat.completions.create(**_chat(text)))
    body = error_envelope(f"outcome {code}", code=code, status_code=status)
    sends = 3 if transient else 1  # the first send and, when the hint says a retry helps, the SDK's two retries
    for index in range(sends):
        message = wait_for(
            lambda index=index: stack.stand_in.with_text(text)[index:], timeout_s=15, what=f"send {index}"
        )[0]
        stack.stand_in.answer(message, status_code=status, body=body, upstream_request_id=None)
    thread.join(timeout=30)
    error = box["error"]
    assert type(error) is error_class and error.status_code == status and error.code == code
    assert exchanges.posts == sends
    for index in range(len(exchanges.seen)):
        headers = exchanges.headers(index)
        assert headers["x-should-retry"] == ("true" if transient else "false")
        assert ("retry-after" in headers) is transient
    # a final outcome is sent once; each retry of a transient one is a new line (never the stored failure)
    assert len(stack.stand_in.with_text(text)) == sends


@pytest.mark.parametrize(
    ("status", "code", "posts"), [(409, "batch_cancelled", 1), (504, "batch_expired", 3)], ids=["final", "transient"]
)
async def test_async_sdk_obeys_the_retry_hint(stack: Stack, prompt, status: int, code: str, posts: int) -> None:
    text = prompt(f"[hold] async-outcome-{code}")
    exchanges = Exchanges()
    client = exchanges.async_client(stack)
    call = asyncio.ensure_future(client.chat.completions.create(**_chat(text)))
    body = error_envelope(f"outcome {code}", code=code, status_code=status)
    for index in range(posts):
        sent = await asyncio.to_thread(
            wait_for, lambda index=index: stack.stand_in.with_text(text)[index:], 15, 0.05, "produced"
        )
        await asyncio.to_thread(stack.stand_in.answer, sent[0], status, body, None)
    with pytest.raises(openai.APIStatusError) as caught:
        await call
    assert caught.value.status_code == status and exchanges.posts == posts
    assert len(stack.stand_in.with_text(text)) == posts
    await client.close()


def test_405_and_413_are_final_openai_envelopes(stack: Stack, start_ingress, prompt) -> None:
    server = start_ingress(max_body_bytes=2048)
    exchanges = Exchanges()
    client = exchanges.sync_client(stack, base_url=server.base_url)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(**_chat(prompt("large") + "x" * 4096))
    assert caught.value.status_code == 413 and exchanges.posts == 1
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert caught.value.type == "invalid_request_error" and caught.value.code is None
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=30) as http:
        wrong = http.delete("/v1/chat/completions")
    assert wrong.status_code == 405 and wrong.headers["x-should-retry"] == "false"
    assert set(wrong.json()["error"]) == {"message", "type", "param", "code"} and wrong.json()["error"]["code"] is None


# ------------------------------------------------------------------ request ids


def test_the_upstream_request_id_reaches_the_sdk_and_every_later_answer(stack: Stack, prompt) -> None:
    text = prompt("[hold] request-ids")
    body = _chat(text, temperature=0)
    upstream = f"req_{uuid.uuid4().hex}"
    client = stack.client()
    thread, box = _in_thread(lambda: client.chat.completions.with_raw_response.create(**body))
    [message] = wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15, what="the request produced")
    stack.stand_in.answer(message, upstream_request_id=upstream)
    thread.join(timeout=20)
    raw = box["ok"]
    assert raw.parse()._request_id == upstream
    assert raw.headers["batchgpt-request-id"] == message.request_id
    cached = client.chat.completions.create(**body)  # served from the cache: the same ids
    assert cached._request_id == upstream
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        fetched = http.get(f"/v1/chat/completions/{message.request_id}")
    assert fetched.status_code == 200 and fetched.headers["x-request-id"] == upstream
    assert fetched.headers["batchgpt-request-id"] == message.request_id


async def test_an_error_line_carries_its_upstream_request_id(stack: Stack, prompt) -> None:
    text = prompt("[hold] error-request-id")
    upstream = f"req_{uuid.uuid4().hex}"
    client = stack.async_client()
    call = asyncio.ensure_future(client.chat.completions.create(**_chat(text)))
    [message] = await asyncio.to_thread(wait_for, lambda: stack.stand_in.with_text(text), 15, 0.05, "produced")
    body = error_envelope("too long", code="context_length_exceeded", status_code=400, param="messages")
    await asyncio.to_thread(stack.stand_in.answer, message, 400, body, upstream)
    with pytest.raises(openai.BadRequestError) as caught:
        await call
    assert caught.value.request_id == upstream and caught.value.param == "messages"
    await client.close()
