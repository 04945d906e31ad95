"""The Kafka edge: dead letters, batch events and error replies, each awaited until acknowledged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from confluent_kafka import KafkaException

from batchgpt.kafka import AsyncProducer
from schemas.codec import encode
from schemas.messages import BatchEvent, DeadLetter, ReplyMessage, RequestMessage
from schemas.topics import TopicNames

__all__ = ["Publisher"]

logger = logging.getLogger(__name__)


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
        """Publish each reply to its request's ``reply_to`` (or the default replies topic), keyed by request id.

        A reply whose own ``reply_to`` Kafka cannot take (unknown topic or partition) goes to the default
        replies topic instead, so one bad destination never stalls the collator.
        """
        futures = [self._reply(request, reply) for request, reply in pairs]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        retries = []
        for (request, reply), outcome in zip(pairs, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                continue
            if not _has_own_destination(request, self._topics):
                raise outcome
            logger.warning(
                "reply_to unreachable; replying on the default topic",
                extra={"request_id": reply.request_id, "reply_to": str(request.reply_to), "error": str(outcome)},
            )
            retries.append(self._reply(request, reply, default_topic=True))
        await asyncio.gather(*retries)

    def _reply(self, request: RequestMessage, reply: ReplyMessage, *, default_topic: bool = False) -> asyncio.Future:
        value = encode(reply)
        if not default_topic and _has_own_destination(request, self._topics):
            assert request.reply_to is not None
            try:
                return self._producer.produce_nowait(
                    request.reply_to.topic, value, key=reply.request_id, partition=request.reply_to.partition
                )
            except KafkaException as exc:  # refused at once (e.g. a partition the topic does not have)
                failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                failed.set_exception(exc)
                return failed
        return self._producer.produce_nowait(self._topics.replies, value, key=reply.request_id)


def _has_own_destination(request: RequestMessage, topics: TopicNames) -> bool:
    """Whether the request names a destination other than the plain default replies topic."""
    reply_to = request.reply_to
    return reply_to is not None and (reply_to.topic != topics.replies or reply_to.partition is not None)
