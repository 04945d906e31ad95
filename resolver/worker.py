"""The worker loop: claim due batches (up to the concurrency limit), run a step on each, idle until woken
by a batch event, a finished step, the next due time, or the scan interval.

The lease of each batch being stepped is kept alive by the worker's heartbeat until its step ends (a slow
poll or a long read of its result file never loses it); a batch this worker claims again while its step is
still running (its lease lapsed while the database was down) is left to that step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from batchgpt.lease_heartbeat import LeaseHeartbeat
from batchgpt.store.batches import count_open_by_status
from batchgpt.store.leases import claim_due, next_due_at
from resolver.context import WorkerContext
from resolver.tracker import step
from schemas import BatchStatus

__all__ = ["run_worker"]

logger = logging.getLogger(__name__)

_SHUTDOWN_GRACE_SECONDS = 10.0


async def _refresh_gauges(ctx: WorkerContext) -> None:
    counts = await asyncio.to_thread(count_open_by_status, ctx.engine)
    for status in {*(s.value for s in BatchStatus), *counts}:
        ctx.metrics.batches.labels(status).set(counts.get(status, 0))


async def run_worker(ctx: WorkerContext, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; then let in-flight steps finish (bounded) and cancel the rest."""
    heartbeat = LeaseHeartbeat(ctx.engine, owner=ctx.owner, lease_s=ctx.settings.lease_seconds)
    async with heartbeat.running():
        await _claim_and_step(ctx, heartbeat, wake, stop)


async def _claim_and_step(
    ctx: WorkerContext, heartbeat: LeaseHeartbeat, wake: asyncio.Event, stop: asyncio.Event
) -> None:
    settings = ctx.settings
    running: dict[str, asyncio.Task[None]] = {}

    def _start(batch_id: str, claimed_at: float) -> None:
        heartbeat.hold(batch_id, renewed_at=claimed_at)
        if batch_id in running:
            return  # still being stepped here: that step goes on under the renewed lease
        task = asyncio.create_task(step(ctx, batch_id), name=f"resolver-step-{batch_id}")
        running[batch_id] = task
        task.add_done_callback(lambda _: _done(batch_id))

    def _done(batch_id: str) -> None:
        running.pop(batch_id, None)
        heartbeat.drop(batch_id)
        wake.set()

    tasks = running.values()
    while not stop.is_set():
        wake.clear()
        timeout = settings.idle_scan_seconds
        try:
            free = settings.max_concurrent_batches - len(tasks)
            claimed_at = time.time()
            claimed = await asyncio.to_thread(
                claim_due,
                ctx.engine,
                owner=ctx.owner,
                now=claimed_at,
                lease_seconds=settings.lease_seconds,
                limit=free,
            )
            for batch_id in claimed:
                _start(batch_id, claimed_at)
            if claimed and len(claimed) < free:
                continue  # more may be due right now
            saturated = len(tasks) >= settings.max_concurrent_batches
            due = None if saturated else await asyncio.to_thread(next_due_at, ctx.engine)
            if due is not None:
                timeout = min(timeout, max(0.0, due - time.time()))
            await _refresh_gauges(ctx)  # last before idling (tests watch it to know the worker is idle)
        except Exception:  # the database is unreachable: try again after the scan interval
            logger.exception("claiming batches failed")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0.01)):
                waiter = asyncio.ensure_future(wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    stopper.cancel()
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=_SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
