"""The resolver's Kafka edge: replies to each caller's ``reply_to``, resubmissions, and batch events."""

from __future__ import annotations

import asyncio
import time

from confluent_kafka import Message

from batchgpt.kafka import AsyncProducer
from resolver.repository import BatchRow, MemberRow
from resolver.results import Outcome
from schemas import BatchEvent, ReplyMessage, RequestMessage, TopicNames, decode, encode

__all__ = ["Publisher"]


class Publisher:
    """Produces on the contract's topics through the process's one idempotent producer."""

    def __init__(self, producer: AsyncProducer, topics: TopicNames) -> None:
        self._producer = producer
        self.topics = topics

    def reply_nowait(
        self, member: MemberRow, outcome: Outcome, batch: BatchRow, *, default_topic: bool = False
    ) -> asyncio.Future[Message]:
        """Queue the member's reply (key = request id) to its reply topic/partition, or to the default replies
        topic (``default_topic``, or no ``reply_to``); the future resolves on delivery."""
        reply = ReplyMessage(
            request_id=member.request_id,
            status=outcome.status,
            status_code=outcome.status_code,
            body=outcome.body,
            batch_id=batch.id,
            upstream_batch_id=batch.upstream_batch_id,
            completed_at=time.time(),
            tenant=member.tenant,
        )
        topic = self.topics.replies if default_topic else (member.reply_topic or self.topics.replies)
        partition = member.reply_partition if member.reply_topic and not default_topic else None
        return self._producer.produce_nowait(topic, encode(reply), key=member.request_id, partition=partition)

    def resubmit_nowait(self, member: MemberRow, request_json: str) -> asyncio.Future[Message]:
        """Queue the member's request (its stored JSON) again with ``attempt + 1`` on the requests topic."""
        request = decode(RequestMessage, request_json)
        again = request.model_copy(update={"attempt": member.attempt + 1})
        return self._producer.produce_nowait(self.topics.requests, encode(again), key=member.request_id)

    async def event(self, event: BatchEvent) -> None:
        """Publish a batch lifecycle event (key = batch id) and wait for delivery."""
        await self._producer.produce(self.topics.batches, encode(event), key=event.batch_id)
