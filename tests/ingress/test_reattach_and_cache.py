"""Re-attach and cache: an SDK retry or the same Idempotency-Key never makes a second batch line; a finished
deterministic answer is served again; a fresh call that the cache may not serve is a new request."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from batchgpt.simulator.answers import expected_chat_content
from batchgpt.store.requests import move_states
from collator.planning import batch_id_for
from schemas.status import Endpoint, RequestState
from tests.ingress.conftest import ALICE, Stack
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}
RETRY = {"x-stainless-retry-count": "1"}  # what the SDK sends on its first retry
ASYNC = {"Prefer": "respond-async"}


def _chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def _metric(stack: Stack, name: str, **labels: str) -> float:
    value = stack.ingress.service.metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


async def test_an_sdk_retry_while_in_flight_attaches_to_the_same_request(stack: Stack, prompt) -> None:
    text = prompt("[hold] reattach-body")
    client = stack.async_client()
    first = asyncio.ensure_future(
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
    )
    [message] = await asyncio.to_thread(wait_for, lambda: stack.stand_in.with_text(text), 15, 0.05, "produced")
    # the SDK re-sending (retry count 1): the same body again, while the first call is still held
    second = asyncio.ensure_future(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], extra_headers=RETRY
        )
    )
    await asyncio.to_thread(wait_for, lambda: len(stack.ingress.service.correlator) >= 2, 10, 0.05, "both calls held")
    await asyncio.to_thread(stack.stand_in.release, message.request_id)
    one, two = await asyncio.gather(first, second)
    assert one.choices[0].message.content == two.choices[0].message.content == expected_chat_content(_chat(text))
    assert one.id == two.id
    assert len(stack.stand_in.with_text(text)) == 1, "a re-sent request must never be produced twice"
    await client.close()


def test_a_fresh_identical_call_while_one_is_in_flight_is_a_new_request(stack: Stack, prompt) -> None:
    text = prompt("[hold] fresh-twin")
    with httpx.Client(base_url=stack.base_url, headers={**AUTH, "Prefer": "respond-async"}, timeout=30) as http:
        ids = {http.post("/v1/chat/completions", json=_chat(text)).json()["id"] for _ in range(2)}
    assert len(ids) == 2
    wait_for(lambda: len(stack.stand_in.with_text(text)) == 2, timeout_s=15, what="two requests produced")


def test_identical_concurrent_retries_produce_one_message(stack: Stack, prompt) -> None:
    text = prompt("[hold] racing")

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
            return await asyncio.gather(
                *(
                    http.post("/v1/chat/completions", json=_chat(text), headers={"Prefer": "wait=0.5", **RETRY})
                    for _ in range(6)
                )
            )

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15)
    assert len(stack.stand_in.with_text(text)) == 1


def test_idempotency_key_attaches_and_then_answers_from_the_stored_result(stack: Stack, prompt) -> None:
    text = prompt("[hold] idem")
    key = {"Idempotency-Key": prompt("key")}
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        first = http.post("/v1/chat/completions", json=_chat(text), headers={**key, "Prefer": "respond-async"})
        # the same key with the body re-serialised differently (key order) still attaches
        reordered = {"messages": [{"content": text, "role": "user"}], "model": "gpt-4o-mini"}
        second = http.post("/v1/chat/completions", json=reordered, headers={**key, "Prefer": "respond-async"})
        assert first.status_code == second.status_code == 202
        assert first.json()["id"] == second.json()["id"]
        stack.stand_in.release(wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15)[0].request_id)
        wait_for(lambda: http.get(first.headers["location"]).status_code == 200, timeout_s=15)
        # cache off for this call: the Idempotency-Key still answers from the stored result
        third = http.post("/v1/chat/completions", json=_chat(text), headers={**key, "Cache-Control": "no-cache"})
        assert third.status_code == 200
        assert third.json()["choices"][0]["message"]["content"] == expected_chat_content(_chat(text))
    assert len(stack.stand_in.with_text(text)) == 1


def test_idempotency_key_with_another_body_is_409(stack: Stack, prompt) -> None:
    key = {"Idempotency-Key": prompt("key409"), "Prefer": "respond-async"}
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        assert http.post("/v1/chat/completions", json=_chat(prompt("a")), headers=key).status_code == 202
        clash = http.post("/v1/chat/completions", json=_chat(prompt("b")), headers=key)
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_key_reused"


def test_finished_deterministic_request_is_served_from_the_cache(stack: Stack, prompt) -> None:
    text = prompt("cache-hit")
    client = stack.client()
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], temperature=0
    )
    hits_before = _metric(stack, "batchgpt_ingress_cache_hits_total")
    again = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], temperature=0
    )
    assert again.id == first.id and again.choices[0].message.content == first.choices[0].message.content
    assert _metric(stack, "batchgpt_ingress_cache_hits_total") == hits_before + 1
    assert len(stack.stand_in.with_text(text)) == 1


def test_cache_on_serves_sampled_requests_too(stack: Stack, start_ingress, prompt) -> None:
    client = stack.client(base_url=start_ingress(cache="on").base_url)
    text = prompt("cache-on")
    first = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
    again = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
    assert again.id == first.id and len(stack.stand_in.with_text(text)) == 1


def test_no_cache_header_submits_a_finished_request_afresh(stack: Stack, prompt) -> None:
    text = prompt("no-cache")
    client = stack.client()
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], temperature=0
    )
    fresh = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        temperature=0,
        extra_headers={"Cache-Control": "no-cache"},
    )
    assert fresh.id != first.id
    assert len(stack.stand_in.with_text(text)) == 2


def test_cache_off_submits_afresh_but_an_sdk_retry_still_attaches(stack: Stack, start_ingress, prompt) -> None:
    server = start_ingress(cache="off")
    client = stack.client(base_url=server.base_url)
    done = prompt("cache-off")
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": done}], temperature=0
    )
    second = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": done}], temperature=0
    )
    assert first.id != second.id and len(stack.stand_in.with_text(done)) == 2
    held = prompt("[hold] cache-off-inflight")
    with httpx.Client(base_url=server.base_url, headers={**AUTH, "Prefer": "respond-async"}, timeout=30) as http:
        ids = {http.post("/v1/chat/completions", json=_chat(held), headers=retry).json()["id"] for retry in ({}, RETRY)}
    assert len(ids) == 1
    wait_for(lambda: stack.stand_in.with_text(held), timeout_s=15)
    assert len(stack.stand_in.with_text(held)) == 1


def test_streamed_and_plain_calls_with_the_same_body_share_one_line(stack: Stack, prompt) -> None:
    text = prompt("stream-shares")
    client = stack.client()
    plain = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], temperature=0
    )
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], temperature=0, stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain.choices[0].message.content
    assert len(stack.stand_in.with_text(text)) == 1


def test_sdk_resend_after_its_read_timeout_costs_nothing(stack: Stack, prompt) -> None:
    import threading

    text = prompt("[hold] sdk-timeout-resend")
    # the SDK's own behaviour, shortened: the wait ends before its read timeout, then it re-sends the same request
    client = stack.client(timeout=3.0, max_retries=1)
    box: dict[str, object] = {}
    caller = threading.Thread(
        target=lambda: box.setdefault(
            "c", client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
        )
    )
    caller.start()
    [message] = wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15)
    reattached = _metric(stack, "batchgpt_ingress_reattach_total", via="fingerprint")
    wait_for(
        lambda: _metric(stack, "batchgpt_ingress_reattach_total", via="fingerprint") > reattached,
        timeout_s=15,
        what="the SDK's re-send attached",
    )
    stack.stand_in.answer(message)
    caller.join(timeout=20)
    completion = box["c"]
    assert completion.choices[0].message.content == expected_chat_content(_chat(text))  # type: ignore[attr-defined]
    assert len(stack.stand_in.with_text(text)) == 1


@pytest.mark.parametrize(
    "recorded_ago_s",
    [60.0, 0.0],
    # at once: the SDK's retry (0.5-1 s later) lands on another live replica while the row is too young to judge
    ids=["retried-later", "retried-at-once"],
)
def test_a_retry_of_a_request_recorded_but_never_produced_produces_it_and_is_answered(
    stack: Stack, prompt, recorded_ago_s: float
) -> None:
    body = _chat(prompt("lost-produce"))
    text = str(body["messages"][0]["content"])  # type: ignore[index]
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        request_id = stack.record_without_producing(
            Endpoint.CHAT_COMPLETIONS, body, received_at=time.time() - recorded_ago_s
        )
        before = _metric(stack, "batchgpt_ingress_produced_again_total")
        # the SDK's retry reaches a live replica: it re-attaches, produces the request again, and is answered
        started = time.monotonic()
        answer = http.post("/v1/chat/completions", json=body, headers=RETRY)
        took = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == expected_chat_content(body)
    assert answer.headers["batchgpt-request-id"] == request_id
    assert took < 10, f"answered after {took:.1f}s: the re-send waited instead of producing the lost request"
    assert [m.request_id for m in stack.stand_in.with_text(text)] == [request_id]
    assert _metric(stack, "batchgpt_ingress_produced_again_total") == before + 1


def test_an_async_retry_of_a_young_request_never_produced_is_answered_to_its_poll(stack: Stack, prompt) -> None:
    """A re-send answered 202 at once leaves no waiter; its caller polls GET, which cannot produce the request."""
    body = _chat(prompt("lost-produce-async"))
    text = str(body["messages"][0]["content"])  # type: ignore[index]
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        request_id = stack.record_without_producing(Endpoint.CHAT_COMPLETIONS, body, received_at=time.time())
        accepted = http.post("/v1/chat/completions", json=body, headers={**ASYNC, **RETRY})
        assert accepted.status_code == 202 and accepted.json()["id"] == request_id
        started = time.monotonic()
        done = http.get(f"/v1/chat/completions/{request_id}", headers={"Prefer": "wait=20"})
        took = time.monotonic() - started
    assert done.status_code == 200, done.text
    assert done.json()["choices"][0]["message"]["content"] == expected_chat_content(body)
    assert took < 10, f"answered after {took:.1f}s"
    assert [m.request_id for m in stack.stand_in.with_text(text)] == [request_id]


def test_a_young_request_batched_before_it_is_old_enough_to_judge_is_not_produced_again(stack: Stack, prompt) -> None:
    """The look at 2 s reads the row again: a request a collator took meanwhile (it has its batch) gets no copy."""
    body = _chat(prompt("[hold] batched-meanwhile"))
    text = str(body["messages"][0]["content"])  # type: ignore[index]
    admitter = stack.ingress.service.admitter
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        request_id = stack.record_without_producing(Endpoint.CHAT_COMPLETIONS, body, received_at=time.time())
        before = _metric(stack, "batchgpt_ingress_produced_again_total")
        accepted = http.post("/v1/chat/completions", json=body, headers={**ASYNC, **RETRY})
        assert accepted.status_code == 202 and accepted.json()["id"] == request_id
        assert admitter.watching >= 1  # the row was too young to judge when the re-send attached
        with stack.engine.begin() as conn:  # the collator batches it, as a produced request is batched
            move_states(
                conn, [request_id], RequestState.SUBMITTED, now=time.time(), batch_id=batch_id_for([(request_id, 0)])
            )
        wait_for(lambda: admitter.watching == 0, timeout_s=10, what="the watch looked at the row again")
    assert stack.stand_in.with_text(text) == []
    assert _metric(stack, "batchgpt_ingress_produced_again_total") == before
