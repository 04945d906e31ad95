"""The deadline sweep: while a deadline fallback is on, claim the requests whose ``Batchgpt-Deadline`` passed
and answer each through :mod:`resolver.fallback` (up to ``BATCHGPT_FALLBACK_CONCURRENCY`` at once).

Claims are leased in the database (:func:`batchgpt.store.deadlines.claim_due`), so two resolvers never both
answer a request, and a claim whose resolver died is taken again once its lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from batchgpt.store import deadlines
from batchgpt.store.deadlines import FallbackClaim
from resolver.context import WorkerContext
from resolver.fallback import answer_claim

__all__ = ["run_deadline_sweep"]

logger = logging.getLogger(__name__)

_SHUTDOWN_GRACE_SECONDS = 10.0


async def _answer(ctx: WorkerContext, claim: FallbackClaim) -> None:
    try:
        await answer_claim(ctx, claim)
    except Exception:  # the database or Kafka failed: the claim's lease lapses and the sweep takes it again
        logger.exception(
            "deadline fallback failed; it is taken again once its lease lapses", extra={"request_id": claim.request_id}
        )


async def run_deadline_sweep(ctx: WorkerContext, stop: asyncio.Event) -> None:
    """Claim and answer due fallbacks every ``BATCHGPT_DEADLINE_SCAN_S`` until ``stop`` is set (no-op when off)."""
    settings = ctx.settings
    if not settings.deadlines_on:
        return
    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        try:
            claims = await asyncio.to_thread(
                deadlines.claim_due,
                ctx.engine,
                owner=ctx.owner,
                now=time.time(),
                lease_s=settings.lease_seconds,
                limit=settings.fallback_concurrency - len(tasks),
            )
            for claim in claims:
                task = asyncio.create_task(_answer(ctx, claim), name=f"fallback-{claim.request_id}")
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except Exception:  # the database is unreachable: try again at the next scan
            logger.exception("claiming deadline fallbacks failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.deadline_scan_seconds)
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=_SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            task.cancel()
