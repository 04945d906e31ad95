"""SIGKILL at each dangerous point, restart: every request is submitted upstream exactly once.

The collator runs as a child process (``python -m batchgpt.cli collator``); the crash hook
``BATCHGPT_TEST_CRASH_AT`` makes it SIGKILL itself at the named point. After a restart without the
hook, the simulator's stats must show each request id in exactly one batch, and the database must
hold each request as one member. The same for Anthropic's Message Batches, which have no metadata to find a
batch by: the restarted worker recognises its batch by its requests (the upstream's ``find``). With the
default lease and sweep, the batches a killed worker reserved are taken over within a lease and a sweep of the
kill.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from collator.settings import CollatorSettings
from tests.collator.harness import batch_rows, chat_request, member_rows, message_request, produce
from tests.collator.worker_process import CollatorProcess
from tests.support.waiting import wait_for

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1")
ANTHROPIC_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6")
UPLOADS = {"openai": "files.create", "anthropic": None}  # Message Batches take their requests inline
CREATES = {"openai": "batches.create", "anthropic": "messages.batches.create"}
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


@pytest.mark.parametrize(
    ("provider", "point"),
    [
        *(("openai", point) for point in ("after_consume", "after_upload", "after_create", "after_db_write")),
        *(("anthropic", point) for point in ("after_create", "after_db_write")),
    ],
)
def test_sigkill_at_each_dangerous_point_then_restart_submits_every_request_once(
    provider, point, collator_settings, kafka_settings, db_engine, simulator, tmp_path
):
    if provider == "anthropic":
        messages = [message_request(model) for model in ANTHROPIC_MODELS for _ in range(6)]
        provider_env = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": simulator.root_url}
    else:
        messages, provider_env = [chat_request(model) for model in MODELS for _ in range(6)], {}
    produce(kafka_settings, messages)
    settings = collator_settings(**FAST)
    log = tmp_path / "collator.log"

    first = CollatorProcess(settings, log, {"BATCHGPT_TEST_CRASH_AT": point, **provider_env})
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

    second = CollatorProcess(settings, log, provider_env)
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
    models = ANTHROPIC_MODELS if provider == "anthropic" else MODELS
    assert {d["model"] for d in stats["batch_details"]} == set(models)
    assert stats["batches"] == len(batch_rows(db_engine))
    members = member_rows(db_engine)
    assert Counter(m["request_id"] for m in members) == {m.request_id: 1 for m in messages}
    # Batches are submitted concurrently, so the kill can also cut another batch's upload or create short:
    # that call is repeated after the restart (an orphan file, or a create that never completed upstream),
    # but never yields a second batch for the same requests.
    calls, batches = stats["api_calls"], stats["batches"]
    uploads, creates = UPLOADS[provider], CREATES[provider]
    if point == "after_consume":
        assert calls[creates] == batches and (uploads is None or calls[uploads] == batches)
    else:
        assert batches <= calls[creates] <= 2 * batches
        extra = 1 if point == "after_upload" else 0
        assert uploads is None or batches + extra <= calls[uploads] <= 2 * batches
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
