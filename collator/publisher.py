"""The Kafka edge: dead letters, batch events and error replies, each awaited until acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from batchgpt_infra.kafka import AsyncProducer
from schemas.codec import encode
from schemas.messages import BatchEvent, DeadLetter, ReplyMessage, RequestMessage
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

    async def replies(self, pairs: Sequence[tuple[RequestMessage, ReplyMessage]]) -> None:
        """Publish each reply to its request's ``reply_to`` (or the default replies topic), keyed by request id."""
        futures = []
        for request, reply in pairs:
            topic = request.reply_to.topic if request.reply_to else self._topics.replies
            partition = request.reply_to.partition if request.reply_to else None
            futures.append(
                self._producer.produce_nowait(topic, encode(reply), key=reply.request_id, partition=partition)
            )
        await asyncio.gather(*futures)
