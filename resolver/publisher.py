"""The resolver's Kafka edge: replies and resubmissions (:class:`batchgpt.replies.ReplyPublisher`), and batch
events, and the ``batch.*`` webhook event of a resolved batch when webhooks out are on."""

from __future__ import annotations

from batchgpt.kafka import AsyncProducer
from batchgpt.replies import ReplyPublisher
from batchgpt.webhooks.outbox import WebhookOutbox
from schemas import BatchEvent, TopicNames, encode

__all__ = ["Publisher"]


class Publisher(ReplyPublisher):
    """Produces on the contract's topics through the process's one idempotent producer."""

    def __init__(self, producer: AsyncProducer, topics: TopicNames, *, outbox: WebhookOutbox | None = None) -> None:
        super().__init__(producer, topics)
        self._outbox = outbox

    async def event(self, event: BatchEvent) -> None:
        """Publish a batch lifecycle event (key = batch id) and wait for delivery."""
        await self._producer.produce(self.topics.batches, encode(event), key=event.batch_id)

    async def announce_end(self, resolved: BatchEvent) -> None:
        """With webhooks out, put the ``batch.*`` event of a batch about to be marked resolved on the webhooks
        topic (before the mark: a crash in between announces it again, never not at all)."""
        if self._outbox is not None:
            await self._outbox.batch_resolved(resolved)
