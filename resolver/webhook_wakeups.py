"""What a provider's webhook does in the resolver: the batch it names is made due now (``next_poll_at``), so the
worker polls it at its next claim instead of at the end of its poll interval; polling stays the fallback.

The ingress verified the event and found our batch id; it reaches here as a ``notified`` event on the batches
topic (group ``<prefix>resolver``: one resolver takes each, and the database makes it due for all of them).
A repeated event (a re-delivered webhook) finds the batch due already, or resolved, and changes nothing.

A notice that arrives while a worker is stepping the batch (its poll may have seen the batch just before it
ended) would be overwritten when that step releases the batch with its next poll time; so while the batch is
leased, it is made due again once the lease is gone (checked every ``LEASE_CHECK_S``, for at most
``lease_seconds``), in a task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from batchgpt.store.upstream_events import is_leased, make_due_now
from schemas import BatchEvent

__all__ = ["LEASE_CHECK_S", "due_now_on_notice"]

logger = logging.getLogger(__name__)

LEASE_CHECK_S = 0.2


async def _after_the_lease(
    engine: Engine, batch_id: str, lease_seconds: float, wake: Callable[[], None], stop: asyncio.Event
) -> None:
    """Make the batch due again once nobody holds its lease (its step released it with a later poll)."""
    deadline = time.monotonic() + lease_seconds
    while time.monotonic() < deadline and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=LEASE_CHECK_S)
        if not await asyncio.to_thread(is_leased, engine, batch_id, now=time.time()):
            if await asyncio.to_thread(make_due_now, engine, batch_id, now=time.time()):
                wake()
            return


def due_now_on_notice(
    engine: Engine, *, lease_seconds: float, wake: Callable[[], None], stop: asyncio.Event
) -> Callable[[BatchEvent], Awaitable[None]]:
    """The ``on_notified`` action of :func:`resolver.wakeups.consume_wakeups` for this database (``wake`` wakes
    the worker when a batch is made due later, after a lease; ``stop`` ends those waits)."""
    later: set[asyncio.Task[None]] = set()

    async def act(event: BatchEvent) -> None:
        batch_id = event.batch_id
        try:
            changed = await asyncio.to_thread(make_due_now, engine, batch_id, now=time.time())
            leased = await asyncio.to_thread(is_leased, engine, batch_id, now=time.time())
        except Exception:  # a hint only: the batch is still polled at its scheduled time
            logger.exception("could not make a notified batch due", extra={"batch_id": batch_id})
            return
        if leased:
            task = asyncio.create_task(_after_the_lease(engine, batch_id, lease_seconds, wake, stop))
            later.add(task)
            task.add_done_callback(later.discard)
        logger.info(
            "provider notice: batch due now",
            extra={"batch_id": batch_id, "upstream_batch_id": event.upstream_batch_id, "changed": changed},
        )

    return act
