"""The worker loop: claim due batches (up to the concurrency limit), run a step on each, idle until woken
by a batch event, a finished step, the next due time, or the scan interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

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
    settings = ctx.settings
    tasks: set[asyncio.Task[None]] = set()

    def _done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        wake.set()

    while not stop.is_set():
        wake.clear()
        timeout = settings.idle_scan_seconds
        try:
            free = settings.max_concurrent_batches - len(tasks)
            claimed = await asyncio.to_thread(
                claim_due,
                ctx.engine,
                owner=ctx.owner,
                now=time.time(),
                lease_seconds=settings.lease_seconds,
                limit=free,
            )
            for batch_id in claimed:
                task = asyncio.create_task(step(ctx, batch_id), name=f"resolver-step-{batch_id}")
                tasks.add(task)
                task.add_done_callback(_done)
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
