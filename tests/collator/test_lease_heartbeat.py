"""A live worker never loses the lease of a batch it is submitting, however long an upload takes: its heartbeat
extends the lease every third of a lease time, so another worker trying to take the batch over finds it held."""

from __future__ import annotations

import asyncio
import time

from batchgpt.store import leases
from tests.collator.harness import batch_rows, chat_request, produce
from tests.support.waiting import async_wait_for

LEASE_S = 1.0
UPLOAD_S = 4 * LEASE_S


async def test_an_upload_four_leases_long_keeps_its_lease_and_is_made_once(
    run_collator, kafka_settings, db_engine, simulator
):
    simulator.inject(kind="slow_call", route="files.create", delay_seconds=UPLOAD_S)
    messages = [chat_request("gpt-4o-mini") for _ in range(3)]
    takeovers: list[str] = []

    def submitted_or_taken_over() -> bool:
        """Every poll, a competing worker tries to take the batch over: it must always find the lease held."""
        rows = batch_rows(db_engine)
        if len(rows) != 1:
            return False
        row = rows[0]
        if row["upstream_batch_id"]:
            return True
        if leases.claim_pending(db_engine, row["id"], owner="intruder", now=time.time(), lease_s=60):
            takeovers.append(row["id"])
        return bool(takeovers)

    async with run_collator(lease_seconds=LEASE_S, sweep_interval_seconds=0.2) as collator:
        produce(kafka_settings, messages)
        await async_wait_for(lambda: asyncio.to_thread(lambda: len(batch_rows(db_engine)) == 1), what="reserved")
        reserved_at = time.monotonic()
        await async_wait_for(
            lambda: asyncio.to_thread(submitted_or_taken_over), timeout_s=30, interval_s=0.1, what="submitted"
        )
        took = time.monotonic() - reserved_at
    assert collator.processor.heartbeat.held == frozenset()  # recorded: nothing left to keep alive
    assert takeovers == [], "another worker took over a batch whose worker was alive and uploading"
    assert took >= UPLOAD_S - 0.5, f"the upload took {took:.1f}s: it was not slower than the lease"
    stats = simulator.stats()
    assert stats["faults_fired"] == 1
    assert stats["api_calls"]["files.create"] == 1 and stats["api_calls"]["batches.create"] == 1
    assert stats["custom_id_submissions"] == {m.request_id: 1 for m in messages}
