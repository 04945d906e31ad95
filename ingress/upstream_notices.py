"""OpenAI's ``batch.*`` webhooks, once verified: the batch they name becomes a ``notified`` event on the batches
topic, which a resolver turns into a poll now (:mod:`resolver.webhook_wakeups`). Through Kafka, so any ingress
replica can take the webhook and any resolver acts on it.

An event of another type, or about a batch that is not ours (OpenAI sends an organisation's webhooks for all of
its batches, other programs' too), is acknowledged and dropped here. A re-delivered event publishes the notice
again, which only makes a batch due that is due already: harmless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from batchgpt.kafka import AsyncProducer
from batchgpt.store.upstream_events import find_batch_id
from schemas import BatchEvent, BatchEventKind, BatchStatus, TopicNames, encode

__all__ = ["NOTICE_STATUSES", "Notice", "UpstreamNotices", "read_notice"]

logger = logging.getLogger(__name__)

NOTICE_STATUSES = {
    "batch.completed": BatchStatus.COMPLETED,
    "batch.failed": BatchStatus.FAILED,
    "batch.expired": BatchStatus.EXPIRED,
    "batch.cancelled": BatchStatus.CANCELLED,
}
"""The webhook event types that name a batch, and the status each reports."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A batch event from the provider: its event id, the upstream batch id, and the status it reports."""

    event_id: str
    upstream_batch_id: str
    status: BatchStatus


def read_notice(event: Any) -> Notice | None:
    """The notice in a verified event body; None for anything else (another type, a shape we do not know)."""
    if not isinstance(event, dict):
        return None
    status = NOTICE_STATUSES.get(str(event.get("type")))
    data = event.get("data")
    batch_id = data.get("id") if isinstance(data, dict) else None
    if status is None or not isinstance(batch_id, str) or not batch_id:
        return None
    return Notice(str(event.get("id") or ""), batch_id, status)


class UpstreamNotices:
    """Publishes a verified notice as a wake-up for the resolvers, when the batch is ours."""

    def __init__(self, engine: Engine, producer: AsyncProducer, topics: TopicNames, *, timeout_seconds: float) -> None:
        self._engine = engine
        self._producer = producer
        self._topics = topics
        self._timeout_seconds = timeout_seconds

    async def publish(self, notice: Notice) -> str | None:
        """Our batch id once its wake-up is on Kafka; None when the batch is not ours (nothing published).

        Raises what the database or Kafka raise (the webhook is then answered 503 and re-delivered).
        """
        batch_id = await asyncio.to_thread(find_batch_id, self._engine, notice.upstream_batch_id)
        if batch_id is None:
            logger.info("webhook for a batch that is not ours", extra={"upstream_batch_id": notice.upstream_batch_id})
            return None
        event = BatchEvent(
            batch_id=batch_id,
            kind=BatchEventKind.NOTIFIED,
            status=notice.status,
            upstream_batch_id=notice.upstream_batch_id,
        )
        async with asyncio.timeout(self._timeout_seconds):
            await self._producer.produce(self._topics.batches, encode(event), key=batch_id)
        logger.info(
            "webhook: batch notice published",
            extra={"batch_id": batch_id, "upstream_batch_id": notice.upstream_batch_id, "event_id": notice.event_id},
        )
        return batch_id
