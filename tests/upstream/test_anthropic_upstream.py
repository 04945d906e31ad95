"""The Anthropic edge against the simulator: inline requests staged and created, Message Batches mapped onto
UpstreamBatch, results read line by line, cancel, the error tree, models, and finding a batch again after a crash
between its create and its recording (no metadata: request count, batch-gpt's records, results' custom_ids)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from sqlalchemy import Engine

from batchgpt.simulator.message_answers import expected_message_text
from batchgpt.simulator.testing import RunningSimulator, free_port, run_simulator
from batchgpt.store import batches
from batchgpt.store.claims import submission_facts
from batchgpt.upstream import (
    AnthropicUpstream,
    UpstreamBatch,
    UpstreamConflict,
    UpstreamError,
    UpstreamRejected,
    UpstreamTransient,
    submit,
)
from batchgpt.upstream.anthropic_recovery import StoreLedger, pair
from schemas import BatchStatus
from schemas.messages import RequestMessage
from tests.simulator.conftest import FAST
from tests.support.waiting import async_wait_for

MESSAGES = "/v1/messages"
MODEL = "claude-haiku-4-5"


def _body(text: str) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 128, "messages": [{"role": "user", "content": text}]}


def _lines(*custom_ids: str, text: str = "") -> bytes:
    return b"".join(
        json.dumps({"custom_id": cid, "method": "POST", "url": MESSAGES, "body": _body(text or cid)}).encode() + b"\n"
        for cid in custom_ids
    )


async def _ended(upstream: AnthropicUpstream, upstream_batch_id: str) -> UpstreamBatch:
    async def done() -> UpstreamBatch | None:
        batch = await upstream.retrieve(upstream_batch_id)
        return batch if batch.status.is_terminal else None

    return await async_wait_for(done, timeout_s=10, interval_s=0.02, what="the batch to end")


async def _results(upstream: AnthropicUpstream, handle: str) -> dict[str, dict[str, Any]]:
    return {json.loads(line)["custom_id"]: json.loads(line)["result"] async for line in upstream.result_lines(handle)}


async def test_staged_lines_run_as_a_message_batch_and_results_stream_back(
    anthropic_upstream: AnthropicUpstream, sim: RunningSimulator
) -> None:
    staged = await anthropic_upstream.stage("bg_a", _lines("req_1", "req_2") + _lines("req_3", text="[sim:error=500]"))
    assert staged.batch_id == "bg_a" and staged.input_file_id is None and staged.lines is not None
    created = await anthropic_upstream.create(staged, endpoint=MESSAGES, model=MODEL)
    assert created.id.startswith("msgbatch_") and created.status is BatchStatus.IN_PROGRESS
    assert created.total == 3 and created.output_file_id is None and created.input_file_id is None
    assert sim.stats()["api_calls"].get("files.create") is None  # inline: nothing uploaded

    ended = await _ended(anthropic_upstream, created.id)
    assert ended.status is BatchStatus.COMPLETED
    assert (ended.total, ended.completed, ended.failed) == (3, 2, 1)
    assert ended.output_file_id == created.id and ended.error_file_id is None and ended.terminal_at is not None
    results = await _results(anthropic_upstream, ended.output_file_id)
    assert set(results) == {"req_1", "req_2", "req_3"}
    assert results["req_1"]["type"] == "succeeded"
    assert results["req_1"]["message"]["content"][0]["text"] == expected_message_text(_body("req_1"))
    assert results["req_3"]["type"] == "errored" and results["req_3"]["error"]["error"]["type"] == "api_error"
    await anthropic_upstream.delete_file(ended.output_file_id)  # nothing to delete: no call, no error
    assert sim.stats()["retried_calls"] == 0


async def test_stage_and_create_refuse_what_a_message_batch_cannot_run(anthropic_upstream: AnthropicUpstream) -> None:
    chat_line = json.dumps({"custom_id": "r", "method": "POST", "url": "/v1/chat/completions", "body": {}}).encode()
    with pytest.raises(UpstreamRejected, match="only /v1/messages"):
        await anthropic_upstream.stage("bg_x", chat_line)
    with pytest.raises(UpstreamRejected):
        await anthropic_upstream.stage("bg_x", b"not json\n")
    staged = await anthropic_upstream.stage("bg_x", _lines("r"))
    with pytest.raises(UpstreamRejected):
        await anthropic_upstream.create(staged, endpoint="/v1/chat/completions", model=MODEL)


async def test_cancel_maps_canceling_and_canceled_and_refuses_an_ended_batch(
    anthropic_upstream: AnthropicUpstream, sim: RunningSimulator
) -> None:
    sim.configure(cancelling_seconds=30)
    created = await submit(
        anthropic_upstream, "bg_c", _lines("r1", "r2", text="[sim:slow]"), endpoint=MESSAGES, model=MODEL
    )
    cancelling = await anthropic_upstream.cancel(created.id)
    assert cancelling.status is BatchStatus.CANCELLING
    sim.finish_cancel(created.id)
    cancelled = await anthropic_upstream.retrieve(created.id)
    assert cancelled.status is BatchStatus.CANCELLED and cancelled.completed == 0
    assert {r["type"] for r in (await _results(anthropic_upstream, created.id)).values()} == {"canceled"}
    with pytest.raises(UpstreamConflict):
        await anthropic_upstream.cancel(created.id)


async def test_an_expired_batch_is_expired_with_its_unrun_requests_failed(
    anthropic_upstream: AnthropicUpstream, sim: RunningSimulator
) -> None:
    sim.inject(kind="batch", outcome="expire", fraction=0.5)
    created = await submit(anthropic_upstream, "bg_e", _lines("a", "b", "c", "d"), endpoint=MESSAGES, model=MODEL)
    ended = await _ended(anthropic_upstream, created.id)
    assert ended.status is BatchStatus.EXPIRED and (ended.completed, ended.failed) == (2, 2)


async def test_errors_map_to_the_one_error_tree_without_sdk_retries(
    anthropic_upstream: AnthropicUpstream, sim: RunningSimulator
) -> None:
    sim.inject(kind="http_error", route="messages.batches.create", status=529, retry_after_seconds=2)
    staged = await anthropic_upstream.stage("bg_f", _lines("a"))
    with pytest.raises(UpstreamTransient) as overloaded:
        await anthropic_upstream.create(staged, endpoint=MESSAGES, model=MODEL)
    assert overloaded.value.status == 529 and overloaded.value.code == "overloaded_error"
    assert overloaded.value.retry_after_s == 2 and overloaded.value.operation == "messages.batches.create"
    assert sim.stats()["api_calls"]["messages.batches.create"] == 1  # not retried by the SDK
    sim.inject(kind="http_error", route="messages.batches.create", status=429)
    with pytest.raises(UpstreamTransient) as limited:
        await anthropic_upstream.create(staged, endpoint=MESSAGES, model=MODEL)
    assert limited.value.code == "rate_limit_error"
    with pytest.raises(UpstreamRejected) as missing:
        await anthropic_upstream.retrieve("msgbatch_unknown")
    assert missing.value.status == 404 and missing.value.code == "not_found_error"
    assert missing.value.resource == "msgbatch_unknown"
    assert missing.value.body is not None and missing.value.body["type"] == "error"
    sim.configure(message_batch_max_requests=1)
    with pytest.raises(UpstreamRejected) as too_many:
        await anthropic_upstream.create(
            await anthropic_upstream.stage("bg_g", _lines("a", "b")), endpoint=MESSAGES, model=MODEL
        )
    assert too_many.value.code == "invalid_request_error"


async def test_a_refused_key_is_rejected_and_an_unreachable_api_is_transient() -> None:
    with run_simulator(FAST, api_keys=("sk-ant-good",)) as keyed:
        wrong = AnthropicUpstream(AsyncAnthropic(base_url=keyed.root_url, api_key="sk-ant-wrong", timeout=5))
        with pytest.raises(UpstreamRejected) as refused:
            await wrong.retrieve("msgbatch_x")
        assert refused.value.status == 401 and refused.value.code == "authentication_error"
        await wrong.close()
    gone = AnthropicUpstream(AsyncAnthropic(base_url=f"http://127.0.0.1:{free_port()}", api_key="k", timeout=5))
    with pytest.raises(UpstreamTransient):
        await gone.retrieve("msgbatch_x")
    with pytest.raises(UpstreamTransient):
        [line async for line in gone.result_lines("msgbatch_x")]
    await gone.close()


async def test_models_lists_the_anthropic_models(anthropic_upstream: AnthropicUpstream) -> None:
    models = await anthropic_upstream.models()
    assert MODEL in {m.id for m in models}
    assert all(m.owned_by == "anthropic" and m.created > 0 for m in models)


async def test_find_without_records_is_refused(anthropic_upstream: AnthropicUpstream) -> None:
    with pytest.raises(UpstreamError):
        await anthropic_upstream.find("bg_any", not_before=time.time())


@dataclass(frozen=True)
class _Plan:
    """A reserved batch of Anthropic requests (the store's ``BatchToReserve``)."""

    batch_id: str
    members: Sequence[RequestMessage]
    tenant: str = "default"
    endpoint: str = MESSAGES
    model: str = MODEL

    @property
    def byte_count(self) -> int:
        return 100 * len(self.members)


def _reserve(engine: Engine, batch_id: str, *request_ids: str) -> float:
    """Reserve ``batch_id`` with ``request_ids`` as its members now; its creation time."""
    now = time.time()
    members = [RequestMessage(request_id=rid, body=_body(rid), received_at=now) for rid in request_ids]
    batches.reserve(engine, [_Plan(batch_id, members)], owner="w1", now=now, lease_s=30)
    return now


async def _create(upstream: AnthropicUpstream, batch_id: str, *request_ids: str, slow: bool = False) -> UpstreamBatch:
    """Create the batch upstream and, as in a crash right after, record nothing."""
    return await submit(
        upstream, batch_id, _lines(*request_ids, text="[sim:slow]" if slow else ""), endpoint=MESSAGES, model=MODEL
    )


def _record(engine: Engine, batch_id: str, created: UpstreamBatch) -> None:
    pending = batches.load_pending(engine, batch_id)
    assert pending is not None
    assert batches.mark_submitted(
        engine,
        pending,
        upstream_batch_id=created.id,
        input_file_id=None,
        status=created.status,
        attempts=1,
        now=time.time(),
    )


async def test_find_adopts_the_batch_a_crash_left_unrecorded(
    finding_upstream: AnthropicUpstream, db_engine: Engine
) -> None:
    not_before = _reserve(db_engine, "bg_one", "req_a", "req_b", "req_c")
    assert await finding_upstream.find("bg_one", not_before=not_before) is None  # nothing created yet
    created = await _create(finding_upstream, "bg_one", "req_a", "req_b", "req_c", slow=True)
    found = await finding_upstream.find("bg_one", not_before=not_before)
    assert found is not None and found.id == created.id
    assert await finding_upstream.find("bg_unknown", not_before=not_before) is None


async def test_find_skips_batches_of_another_size_or_already_recorded(
    finding_upstream: AnthropicUpstream, db_engine: Engine
) -> None:
    not_before = _reserve(db_engine, "bg_rec", "req_1", "req_2")
    recorded = await _create(finding_upstream, "bg_rec", "req_1", "req_2", slow=True)
    _record(db_engine, "bg_rec", recorded)
    _reserve(db_engine, "bg_new", "req_3", "req_4")
    await _create(finding_upstream, "bg_other_size", "x_1", "x_2", "x_3", slow=True)
    assert await finding_upstream.find("bg_new", not_before=not_before) is None


def _finder(sim: RunningSimulator, engine: Engine, *, claim_wait_s: float = 0.5) -> AnthropicUpstream:
    """A new collator process's Anthropic edge."""
    client = AsyncAnthropic(base_url=sim.root_url, api_key="sk-ant-test", max_retries=0, timeout=10)
    return AnthropicUpstream(client, ledger=StoreLedger(engine), claim_wait_s=claim_wait_s)


def _created_batches(sim: RunningSimulator) -> int:
    return int(sim.stats()["batches"])


@pytest.mark.parametrize("crashed_first", ["bg_first", "bg_second"])
async def test_two_same_size_batches_created_close_together_are_told_apart(
    sim: RunningSimulator, db_engine: Engine, crashed_first: str
) -> None:
    members = {"bg_first": ("req_f1", "req_f2"), "bg_second": ("req_s1", "req_s2")}
    not_before = _reserve(db_engine, "bg_first", *members["bg_first"])
    _reserve(db_engine, "bg_second", *members["bg_second"])
    other = "bg_second" if crashed_first == "bg_first" else "bg_first"
    doomed = _finder(sim, db_engine, claim_wait_s=30)
    created = await _create(doomed, crashed_first, *members[crashed_first], slow=True)
    waiting = asyncio.create_task(_create(doomed, other, *members[other], slow=True))
    await asyncio.sleep(0.3)  # not a synchronisation: a window in which the second create must NOT happen
    assert not waiting.done() and _created_batches(sim) == 1
    waiting.cancel()  # the collator process dies here: one batch created, neither recorded
    await doomed.close()

    restarted = _finder(sim, db_engine)
    found = await restarted.find(crashed_first, not_before=not_before)
    assert found is not None and found.id == created.id
    assert await restarted.find(other, not_before=not_before) is None  # it never began a create
    _record(db_engine, crashed_first, found)
    again = await _create(restarted, other, *members[other], slow=True)
    _record(db_engine, other, again)
    assert again.id != created.id and sim.stats()["duplicate_custom_ids"] == []
    await restarted.close()


async def test_a_create_of_one_size_waits_for_the_previous_one_to_be_recorded(
    sim: RunningSimulator, db_engine: Engine
) -> None:
    _reserve(db_engine, "bg_a1", "req_a1")
    _reserve(db_engine, "bg_a2", "req_a2")
    upstream = _finder(sim, db_engine, claim_wait_s=30)
    first = await _create(upstream, "bg_a1", "req_a1", slow=True)
    other_size = await _create(upstream, "bg_other", "x_1", "x_2", slow=True)  # another size: no wait
    second = asyncio.create_task(_create(upstream, "bg_a2", "req_a2", slow=True))
    await asyncio.sleep(0.2)  # a window in which the second create must not happen
    assert not second.done()
    _record(db_engine, "bg_a1", first)
    created = await asyncio.wait_for(second, timeout=5)  # released by the record, long before the 30 s
    assert len({first.id, other_size.id, created.id}) == 3
    await upstream.close()


async def test_both_created_and_unrecorded_are_paired_in_the_order_their_creates_began(
    finding_upstream: AnthropicUpstream, db_engine: Engine
) -> None:
    not_before = _reserve(db_engine, "bg_p1", "req_p1", "req_p2")
    _reserve(db_engine, "bg_p2", "req_q1", "req_q2")
    later = await _create(finding_upstream, "bg_p2", "req_q1", "req_q2", slow=True)  # began first
    earlier = await _create(finding_upstream, "bg_p1", "req_p1", "req_p2", slow=True)  # after the 0.5 s wait
    found_p2 = await finding_upstream.find("bg_p2", not_before=not_before)
    found_p1 = await finding_upstream.find("bg_p1", not_before=not_before)
    assert (found_p1 and found_p1.id, found_p2 and found_p2.id) == (earlier.id, later.id)


async def test_a_refused_create_takes_its_mark_back_and_a_failed_one_keeps_it(
    finding_upstream: AnthropicUpstream, db_engine: Engine, sim: RunningSimulator
) -> None:
    not_before = _reserve(db_engine, "bg_m", "req_m")
    sim.inject(kind="http_error", route="messages.batches.create", status=400)
    with pytest.raises(UpstreamRejected):
        await _create(finding_upstream, "bg_m", "req_m")
    facts = submission_facts(db_engine, "bg_m", since=not_before - 1)
    assert facts is not None and facts.create_started_at is None and facts.rivals == ()
    sim.inject(kind="http_error", route="messages.batches.create", status=500)
    with pytest.raises(UpstreamTransient):
        await _create(finding_upstream, "bg_m", "req_m")
    facts = submission_facts(db_engine, "bg_m", since=not_before - 1)
    assert facts is not None and facts.create_started_at is not None and facts.rivals == ("bg_m",)
    assert await finding_upstream.find("bg_m", not_before=not_before) is None  # marked, but nothing upstream


async def test_ended_batches_are_verified_by_their_custom_ids_whatever_their_order(
    finding_upstream: AnthropicUpstream, db_engine: Engine
) -> None:
    not_before = _reserve(db_engine, "bg_early", "req_e1", "req_e2")
    _reserve(db_engine, "bg_late", "req_l1", "req_l2")
    late = await _create(finding_upstream, "bg_late", "req_l1", "req_l2")  # created in the opposite order
    early = await _create(finding_upstream, "bg_early", "req_e1", "req_e2")
    await _ended(finding_upstream, late.id)
    await _ended(finding_upstream, early.id)
    found_early = await finding_upstream.find("bg_early", not_before=not_before)
    found_late = await finding_upstream.find("bg_late", not_before=not_before)
    assert found_early is not None and found_early.id == early.id
    assert found_late is not None and found_late.id == late.id


async def test_a_running_rival_is_paired_once_an_ended_batch_proved_to_be_the_others(
    finding_upstream: AnthropicUpstream, db_engine: Engine
) -> None:
    not_before = _reserve(db_engine, "bg_r1", "req_x1")
    _reserve(db_engine, "bg_r2", "req_y1")
    ended = await _create(finding_upstream, "bg_r1", "req_x1")
    await _ended(finding_upstream, ended.id)
    running = await _create(finding_upstream, "bg_r2", "req_y1", slow=True)
    found = await finding_upstream.find("bg_r2", not_before=not_before)
    assert found is not None and found.id == running.id


def test_pairing_is_by_the_order_creates_began_aligned_at_the_newest() -> None:
    def batch(name: str, at: float) -> UpstreamBatch:
        return UpstreamBatch(id=name, status=BatchStatus.IN_PROGRESS, created_at=at)

    candidates = [batch("late", 2.0), batch("early", 1.0)]
    assert pair("bg_a", ["bg_a", "bg_b"], candidates) == candidates[1]
    assert pair("bg_b", ["bg_a", "bg_b"], candidates) == candidates[0]
    # aligned at the newest: an older mark left without a candidate created nothing
    assert pair("bg_a", ["bg_a", "bg_b", "bg_c"], candidates) is None
    assert pair("bg_c", ["bg_a", "bg_b", "bg_c"], candidates) == candidates[0]
    assert pair("bg_z", ["bg_a"], candidates) is None


async def test_respond_makes_one_synchronous_messages_call(
    anthropic_upstream: AnthropicUpstream, sim: RunningSimulator
) -> None:
    answer = await anthropic_upstream.respond(MESSAGES, {**_body("now please"), "stream": True})
    assert answer.status == 200 and answer.body["type"] == "message"
    assert answer.body["content"][0]["text"] == expected_message_text(_body("now please"))
    assert answer.request_id is not None and answer.request_id.startswith("req_")
    with pytest.raises(UpstreamTransient) as overloaded:
        await anthropic_upstream.respond(MESSAGES, _body("[sim:error=529]"))
    assert overloaded.value.status == 529 and overloaded.value.code == "overloaded_error"
    with pytest.raises(UpstreamRejected):
        await anthropic_upstream.respond("/v1/chat/completions", _body("x"))
    assert sim.stats()["api_calls"]["messages"] == 2
