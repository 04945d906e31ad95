"""Batch events as wake-up hints: a consumer of the batches topic that wakes the worker on ``submitted``, on
the ``terminal`` event of a batch that never reached upstream (the collator gave up submitting it; the
resolver answers its members), and on ``notified`` (the provider's webhook said the batch changed: the batch is
first made due now, see :mod:`resolver.webhook_wakeups`).

Events are hints only; the database decides what is due. The group is per service (``<prefix>resolver``),
so with several workers each event wakes one of them, and the others find the work on their next scan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from batchgpt.kafka import AsyncConsumer
from batchgpt.settings import KafkaSettings
from schemas import BatchEvent, BatchEventKind, DecodeError, decode

__all__ = ["consume_wakeups", "group_id"]

logger = logging.getLogger(__name__)


def group_id(settings: KafkaSettings) -> str:
    """The resolver's consumer group on the batches topic."""
    return f"{settings.topic_prefix}resolver"


async def _no_action(_event: BatchEvent) -> None:
    return None


async def consume_wakeups(
    settings: KafkaSettings,
    wake: asyncio.Event,
    stop: asyncio.Event,
    on_notified: Callable[[BatchEvent], Awaitable[None]] = _no_action,
) -> None:
    """Set ``wake`` for every ``submitted`` event (and ``terminal`` one without an upstream batch) until ``stop``;
    for a ``notified`` one, await ``on_notified(event)`` first."""
    consumer = AsyncConsumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": group_id(settings),
            "auto.offset.reset": "earliest",  # a new group also sees events sent before it joined
            "enable.auto.commit": True,
            "log_level": 3,
        }
    )
    await consumer.start()
    try:
        await consumer.subscribe([settings.topics.batches])
        while not stop.is_set():
            for message in await consumer.consume(num_messages=100, timeout_s=0.25):
                if message.error() is not None:
                    continue
                try:
                    event = decode(BatchEvent, message.value())
                except DecodeError:
                    continue
                if event.kind is BatchEventKind.NOTIFIED:
                    await on_notified(event)
                    wake.set()
                elif event.kind is BatchEventKind.SUBMITTED or (
                    event.kind is BatchEventKind.TERMINAL and event.upstream_batch_id is None
                ):
                    wake.set()
    except Exception:  # the hints are optional: the database scan still finds every batch
        logger.exception("batch event consumer stopped")
    finally:
        await consumer.close()
