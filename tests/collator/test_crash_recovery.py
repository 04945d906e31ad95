"""SIGKILL at each dangerous point, restart: every request is submitted upstream exactly once.

The collator runs as a child process (``python -m batchgpt.cli collator``); the crash hook
``BATCHGPT_TEST_CRASH_AT`` makes it SIGKILL itself at the named point. After a restart without the
hook, the simulator's stats must show each request id in exactly one batch, and the database must
hold each request as one member. With the default lease and sweep, the batches a killed worker reserved are
taken over within a lease and a sweep of the kill.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from collator.settings import CollatorSettings
from tests.collator.harness import batch_rows, chat_request, member_rows, produce
from tests.collator.worker_process import CollatorProcess
from tests.support.waiting import wait_for

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1")
FAST = {
    "window_ms": 300,
    "lease_seconds": 2,
    "sweep_interval_seconds": 0.3,
    "commit_interval_seconds": 5,
    "session_timeout_seconds": 6,
}


def _all_submitted(engine, request_ids: set[str]) -> bool:
    members = member_rows(engine)
    rows = batch_rows(engine)
    return (
        {m["request_id"] for m in members} == request_ids and bool(rows) and all(r["upstream_batch_id"] for r in rows)
    )


@pytest.mark.parametrize("point", ["after_consume", "after_upload", "after_create", "after_db_write"])
def test_sigkill_at_each_dangerous_point_then_restart_submits_every_request_once(
    point, collator_settings, kafka_settings, db_engine, simulator, tmp_path
):
    messages = [chat_request(model) for model in MODELS for _ in range(6)]
    produce(kafka_settings, messages)
    settings = collator_settings(**FAST)
    log = tmp_path / "collator.log"

    first = CollatorProcess(settings, log, {"BATCHGPT_TEST_CRASH_AT": point})
    try:
        assert first.wait(60) == -9, first.output()[-4000:]
    finally:
        first.kill()
    before = simulator.stats()
    if point == "after_upload":
        assert before["files"] >= 1 and before["batches"] == 0
    if point == "after_create":
        assert before["batches"] >= 1
        assert not any(r["upstream_batch_id"] for r in batch_rows(db_engine))
    if point == "after_db_write":
        assert any(r["upstream_batch_id"] for r in batch_rows(db_engine))

    restarted_at = log.stat().st_size  # both workers write to the same log: read only the second's part

    def second_processed_a_window() -> bool:
        mine = log.read_bytes()[restarted_at:].decode(errors="replace")
        return "collator running" in mine and "window processed" in mine.split("collator running", 1)[1]

    second = CollatorProcess(settings, log)
    try:
        wait_for(
            lambda: _all_submitted(db_engine, {m.request_id for m in messages}),
            timeout_s=60,
            what="every request submitted after the restart",
        )
        # the uncommitted window is redelivered to the restarted worker, which must not submit it again
        # (the first worker may have recorded every batch before it died: wait for the second's own lines)
        wait_for(second_processed_a_window, timeout_s=60, what="the restarted worker processing the redelivered window")
        assert second.terminate() == 0, second.output()[-4000:]
    finally:
        second.kill()

    stats = simulator.stats()
    assert stats["duplicate_custom_ids"] == []
    assert stats["lines_submitted"] == len(messages)
    assert stats["custom_id_submissions"] == {m.request_id: 1 for m in messages}
    # one batch per model, unless the redelivered backlog happened to arrive over two windows
    assert {d["model"] for d in stats["batch_details"]} == set(MODELS)
    assert stats["batches"] == len(batch_rows(db_engine))
    members = member_rows(db_engine)
    assert Counter(m["request_id"] for m in members) == {m.request_id: 1 for m in messages}
    # Batches are submitted concurrently, so the kill can also cut another batch's upload or create short:
    # that call is repeated after the restart (an orphan file, or a create that never completed upstream),
    # but never yields a second batch for the same requests.
    calls, batches = stats["api_calls"], stats["batches"]
    if point == "after_consume":
        assert calls["files.create"] == batches and calls["batches.create"] == batches
    else:
        assert batches <= calls["batches.create"] <= 2 * batches
        assert batches + (1 if point == "after_upload" else 0) <= calls["files.create"] <= 2 * batches
    upstream_ids = {d["id"] for d in stats["batch_details"]}
    assert {r["upstream_batch_id"] for r in batch_rows(db_engine)} == upstream_ids


DEFAULT_LEASE_S = CollatorSettings.model_fields["lease_seconds"].default
DEFAULT_SWEEP_S = CollatorSettings.model_fields["sweep_interval_seconds"].default
TAKEOVER_MARGIN_S = 8.0
"""The upload and create the restarted worker makes once it took the batches over."""


def test_batches_reserved_by_a_killed_worker_are_taken_over_within_a_lease_and_a_sweep(
    collator_settings, kafka_settings, db_engine, simulator, tmp_path
):
    messages = [chat_request(model) for model in MODELS for _ in range(2)]
    produce(kafka_settings, messages)
    settings = collator_settings(
        **{**FAST, "lease_seconds": DEFAULT_LEASE_S, "sweep_interval_seconds": DEFAULT_SWEEP_S}
    )
    log = tmp_path / "collator.log"
    first = CollatorProcess(settings, log, {"BATCHGPT_TEST_CRASH_AT": "after_upload"})
    try:
        assert first.wait(60) == -9, first.output()[-4000:]
    finally:
        first.kill()
    killed_at = time.monotonic()
    assert batch_rows(db_engine) and not any(r["upstream_batch_id"] for r in batch_rows(db_engine))

    restarted_at = log.stat().st_size
    second = CollatorProcess(settings, log)
    try:
        wait_for(
            lambda: "collator running" in log.read_bytes()[restarted_at:].decode(errors="replace"),
            timeout_s=60,
            what="the restarted worker running",
        )
        up_at = time.monotonic()
        wait_for(
            lambda: _all_submitted(db_engine, {m.request_id for m in messages}),
            timeout_s=DEFAULT_LEASE_S + DEFAULT_SWEEP_S + TAKEOVER_MARGIN_S + 30,
            what="every reserved batch taken over and submitted",
        )
        # the dead worker's leases lapse within one lease time of the kill; the next sweep (of the restarted worker,
        # once it runs) takes the batches over
        took = time.monotonic() - max(killed_at + DEFAULT_LEASE_S, up_at)
        assert second.terminate() == 0, second.output()[-4000:]
    finally:
        second.kill()
    assert took < DEFAULT_SWEEP_S + TAKEOVER_MARGIN_S, f"submitted {took:.1f}s after the lease lapsed"
    stats = simulator.stats()
    assert stats["duplicate_custom_ids"] == []
    assert stats["custom_id_submissions"] == {m.request_id: 1 for m in messages}
