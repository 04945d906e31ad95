"""What a provider's webhook does in the resolver: the batch it names is made due now (``next_poll_at``), so the
worker polls it at its next claim instead of at the end of its poll interval; polling stays the fallback.

The ingress verified the event and found our batch id; it reaches here as a ``notified`` event on the batches
topic (group ``<prefix>resolver``: one resolver takes each, and the database makes it due for all of them).
A repeated event (a re-delivered webhook) finds the batch due already, or resolved, and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from batchgpt.store.upstream_events import make_due_now
from schemas import BatchEvent

__all__ = ["due_now_on_notice"]

logger = logging.getLogger(__name__)


def due_now_on_notice(engine: Engine) -> Callable[[BatchEvent], Awaitable[None]]:
    """The ``on_notified`` action of :func:`resolver.wakeups.consume_wakeups` for this database."""

    async def act(event: BatchEvent) -> None:
        try:
            changed = await asyncio.to_thread(make_due_now, engine, event.batch_id, now=time.time())
        except Exception:  # a hint only: the batch is still polled at its scheduled time
            logger.exception("could not make a notified batch due", extra={"batch_id": event.batch_id})
            return
        logger.info(
            "provider notice: batch due now",
            extra={"batch_id": event.batch_id, "upstream_batch_id": event.upstream_batch_id, "changed": changed},
        )

    return act
