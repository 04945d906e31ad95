"""The pure modules, without a broker or a database: validation, fingerprint, preferences, keys,
SSE replay, batch rendering, correlation."""

from __future__ import annotations

import asyncio
import json

import pytest

from ingress.admission.fingerprint import fingerprint
from ingress.admission.keyed_lock import KeyedLock
from ingress.errors import AuthenticationFailed, InvalidRequest
from ingress.http.auth import DEFAULT_TENANT, KeyRing, tenant_of
from ingress.http.batch_views import render_batch, render_page, shown_status
from ingress.http.chunk_replay import chat_chunks
from ingress.http.preferences import bypasses_cache, wait_preference
from ingress.http.sse import data_event
from ingress.http.validation import parse_body, validate_chat
from ingress.replies.correlator import Correlator
from ingress.replies.outcomes import Finished


def test_validation_keeps_unknown_fields_and_names_the_param() -> None:
    body = parse_body(b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0, "z": 1}')
    validate_chat(body)
    assert body["temperature"] == 0 and body["z"] == 1
    with pytest.raises(InvalidRequest) as caught:
        validate_chat({"model": "m", "messages": [{"role": "user"}, "x"]})
    assert caught.value.param == "messages[1]" and caught.value.status_code == 400
    with pytest.raises(InvalidRequest) as caught:
        parse_body(b"null")
    assert caught.value.envelope()["error"]["type"] == "invalid_request_error"


def test_fingerprint_ignores_key_order_and_stream_fields_but_not_tenant_or_content() -> None:
    a = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    b = {"messages": [{"content": "x", "role": "user"}], "model": "m", "stream": True, "stream_options": {}}
    assert fingerprint("t", "/v1/chat/completions", a) == fingerprint("t", "/v1/chat/completions", b)
    assert fingerprint("t", "/v1/chat/completions", a) != fingerprint("u", "/v1/chat/completions", a)
    assert fingerprint("t", "/v1/chat/completions", a) != fingerprint("t", "/v1/chat/completions", {**a, "n": 2})


@pytest.mark.parametrize(
    ("header", "wait", "is_async", "asked"),
    [
        (None, 598.0, False, False),  # BATCHGPT_MAX_WAIT_S less the margin (2 s at most)
        ("wait=5", 5.0, False, True),
        ("respond-async, wait=5", 0.0, True, True),
        ("wait=99999", 598.0, False, True),
        ('wait="2.5"; foo=bar', 2.5, False, True),
        ("wait=abc", 598.0, False, False),
    ],
)
def test_prefer_header(header: str | None, wait: float, is_async: bool, asked: bool) -> None:
    assert wait_preference(header, 600.0) == (pref := wait_preference(header, 600.0))
    assert pref.wait_seconds == wait and pref.respond_async is is_async and pref.asked_async is asked


def test_cache_control() -> None:
    assert bypasses_cache("no-cache") and bypasses_cache("max-age=0, No-Store") and not bypasses_cache("max-age=0")
    assert not bypasses_cache(None)


def test_keys_map_to_stable_tenants_and_errors_never_echo_the_key() -> None:
    ring = KeyRing(["sk-one", "sk-two"])
    assert ring.authenticate("Bearer sk-one") == tenant_of("sk-one") != ring.authenticate("Bearer sk-two")
    with pytest.raises(AuthenticationFailed) as caught:
        ring.authenticate("Bearer sk-secret-guess")
    assert "sk-secret-guess" not in json.dumps(caught.value.envelope())
    assert KeyRing([]).authenticate(None) == DEFAULT_TENANT


def _completion(**message: object) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "system_fingerprint": "fp_x",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "logprobs": None, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


def test_sse_replay_of_content_and_usage() -> None:
    chunks = chat_chunks(_completion(content="hello"), with_usage=True)
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "hello"},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert all(c["usage"] is None for c in chunks[:-1]) and chunks[-1]["usage"]["total_tokens"] == 3
    assert chunks[-1]["choices"] == [] and all(c["system_fingerprint"] == "fp_x" for c in chunks)
    assert "usage" not in chat_chunks(_completion(content="x"), with_usage=False)[0]
    assert data_event({"a": 1}) == b'data: {"a":1}\n\n'


def test_sse_replay_of_tool_calls_carries_indexes() -> None:
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": '{"a":1}'}},
    ]
    chunks = chat_chunks(_completion(content=None, tool_calls=calls), with_usage=False)
    tool_deltas = [
        c["choices"][0]["delta"]["tool_calls"][0] for c in chunks if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert [(d["index"], d["id"], d["function"]["name"]) for d in tool_deltas] == [
        (0, "call_1", "f"),
        (1, "call_2", "g"),
    ]


def test_batch_rendering() -> None:
    row = {
        "id": "bg_1", "endpoint": "/v1/chat/completions", "model": "m", "status": "pending", "created_at": 100.0,
        "cancel_requested": False, "request_total": 2, "request_completed": 0, "request_failed": 0, "total_tokens": 0,
        "errors": json.dumps([{"code": "x", "message": "bad", "param": None, "line": 1}]),
    }  # fmt: skip
    batch = render_batch(row)
    assert batch["status"] == "validating" and batch["expires_at"] == 86500 and batch["usage"] is None
    assert batch["errors"]["data"][0]["code"] == "x" and batch["metadata"] == {"provider": "openai"}
    assert shown_status({**row, "status": "in_progress", "cancel_requested": True}) == "cancelling"
    assert shown_status({**row, "status": "completed", "cancel_requested": True}) == "completed"
    done = render_batch({**row, "status": "completed", "terminal_at": 200.0, "submitted_at": 110.0})
    assert done["completed_at"] == 200 and done["in_progress_at"] == 110 and done["failed_at"] is None
    assert done["finalizing_at"] == 200  # finalizing not seen by a poll: no later than the completion
    finalizing = render_batch({**row, "status": "finalizing", "submitted_at": 110.0, "status_changed_at": 150.0})
    assert finalizing["status"] == "finalizing" and finalizing["finalizing_at"] == 150
    assert finalizing["in_progress_at"] == 110 and finalizing["completed_at"] is None
    assert render_batch({**row, "status": "failed", "terminal_at": 120.0})["finalizing_at"] is None
    assert render_page([], False) == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


async def test_correlator_wakes_every_waiter_once_and_ignores_duplicates() -> None:
    correlator = Correlator()
    first, second = correlator.register("r1"), correlator.register("r1")
    other = correlator.register("r2")
    assert len(correlator) == 3
    result = Finished("r1", 200, {"ok": True})
    assert correlator.resolve(result) == 2 and correlator.resolve(result) == 0
    assert await first is result and await second is result
    correlator.discard("r2", other)
    assert len(correlator) == 0 and correlator.pending_ids() == []
    late = correlator.register("r3")
    assert correlator.release_all() == 1 and late.result() is None


async def test_keyed_lock_serialises_one_key_and_forgets_idle_keys() -> None:
    lock = KeyedLock()
    order: list[str] = []

    async def work(name: str) -> None:
        async with lock.hold("k"):
            order.append(f"{name}+")
            await asyncio.sleep(0)
            order.append(f"{name}-")

    await asyncio.gather(work("a"), work("b"))
    assert order == ["a+", "a-", "b+", "b-"] and len(lock) == 0


async def test_pending_counter_recounts_after_the_refresh_and_adds_local_acceptances() -> None:
    from ingress.admission.pending_cap import PendingCounter

    now = [0.0]
    counted: list[str] = []

    async def count(tenant: str) -> int:
        counted.append(tenant)
        return 5

    counter = PendingCounter(count, refresh_seconds=1.0, clock=lambda: now[0])
    assert await counter.estimate("t") == 5
    counter.accepted("t")
    counter.accepted("t")
    assert await counter.estimate("t") == 7 and counted == ["t"]
    now[0] = 1.5
    assert await counter.estimate("t") == 5 and counted == ["t", "t"]


async def test_pending_counter_shares_one_count_among_concurrent_callers() -> None:
    from ingress.admission.pending_cap import PendingCounter

    counted: list[str] = []
    release = asyncio.Event()

    async def count(tenant: str) -> int:
        counted.append(tenant)
        await release.wait()
        return 3

    counter = PendingCounter(count, refresh_seconds=1.0)
    waiting = [asyncio.ensure_future(counter.estimate("t")) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [3] * 50
    assert counted == ["t"]


async def test_pending_counter_passes_a_failed_count_to_every_waiter() -> None:
    from ingress.admission.pending_cap import PendingCounter

    async def count(tenant: str) -> int:
        await asyncio.sleep(0)
        raise OSError("database is down")

    counter = PendingCounter(count, refresh_seconds=1.0)
    results = await asyncio.gather(*(counter.estimate("t") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)


def test_forked_workers_make_different_request_ids() -> None:
    import os

    from ingress.admission.ids import new_request_id

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert child_id.startswith("req_")
    assert child_id != new_request_id()


async def test_correlator_remembers_a_bounded_number_of_delivered_results() -> None:
    from ingress.replies.correlator import Correlator
    from ingress.replies.outcomes import Finished

    correlator = Correlator(recent_limit=2)
    results = {}
    for request_id in ("a", "b", "c"):
        correlator.register(request_id)
        results[request_id] = _finished(Finished, request_id)
        assert correlator.resolve(results[request_id]) == 1
    assert correlator.recent("a") is None
    assert correlator.recent("b") is results["b"] and correlator.recent("c") is results["c"]
    assert correlator.resolve(_finished(Finished, "nobody-waits")) == 0
    assert correlator.recent("nobody-waits") is None


def _finished(cls: type, request_id: str) -> object:
    return cls(request_id=request_id, status_code=200, body={"id": f"chatcmpl-{request_id}"})
