"""The resolver's Kafka edge: replies and resubmissions (:class:`batchgpt.replies.ReplyPublisher`), and batch
events."""

from __future__ import annotations

from batchgpt.replies import ReplyPublisher
from schemas import BatchEvent, encode

__all__ = ["Publisher"]


class Publisher(ReplyPublisher):
    """Produces on the contract's topics through the process's one idempotent producer."""

    async def event(self, event: BatchEvent) -> None:
        """Publish a batch lifecycle event (key = batch id) and wait for delivery."""
        await self._producer.produce(self.topics.batches, encode(event), key=event.batch_id)
