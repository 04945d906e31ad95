"""The Kafka edge: dead letters and batch events, each awaited until acknowledged.

The collator answers no caller: a batch it cannot submit is recorded as failed, and the resolver
answers its members (:mod:`batchgpt.replies`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from batchgpt.kafka import AsyncProducer
from schemas.codec import encode
from schemas.messages import BatchEvent, DeadLetter
from schemas.topics import TopicNames

__all__ = ["Publisher"]


class Publisher:
    """Produces the collator's outputs through one idempotent, acks=all producer."""

    def __init__(self, producer: AsyncProducer, topics: TopicNames) -> None:
        self._producer = producer
        self._topics = topics

    async def dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Publish dead letters (key as received) and wait for every acknowledgement."""
        futures = [
            self._producer.produce_nowait(self._topics.dead_letter, encode(letter), key=letter.key)
            for letter in letters
        ]
        await asyncio.gather(*futures)

    async def batch_event(self, event: BatchEvent) -> None:
        """Publish a batch lifecycle event keyed by our batch id."""
        await self._producer.produce(self._topics.batches, encode(event), key=event.batch_id)
