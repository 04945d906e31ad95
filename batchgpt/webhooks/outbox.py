"""Putting batch-gpt's webhook events on the webhooks topic (the delivery worker POSTs them from there).

Producing is a Kafka write, never an HTTP call: a slow or failing receiver cannot slow the pipeline.

* :meth:`WebhookOutbox.batch_resolved`: ``batch.<status>`` for a batch about to be marked resolved (every member
  answered); the resolver publishes it before the mark, so a crash in between announces it again: at least once.
* :meth:`WebhookOutbox.answered`: ``request.completed`` / ``request.failed`` for the answered members of a chunk
  whose request asked for an asynchronous answer (``RequestMessage.notify``, from the stored request). The reply
  sink awaits it after the chunk's replies were delivered and before it stores them, so a crash in between
  announces the chunk again: at least once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Engine

from batchgpt.kafka import AsyncProducer
from batchgpt.replies import Answer
from batchgpt.store.members import member_requests
from batchgpt.store.records import BatchRow, MemberRow
from batchgpt.webhooks.events import batch_webhook, request_webhook
from schemas import BatchEvent, RequestMessage, TopicNames, WebhookEvent, decode, encode

__all__ = ["WebhookOutbox"]


class WebhookOutbox:
    """Produces webhook events (key: the id they are about) through the process's one producer."""

    def __init__(self, producer: AsyncProducer, topics: TopicNames, engine: Engine) -> None:
        self._producer = producer
        self._topic = topics.webhooks
        self._engine = engine

    async def publish(self, events: Sequence[WebhookEvent]) -> None:
        """Produce ``events``; return once Kafka acknowledged every one."""
        futures = [
            self._producer.produce_nowait(self._topic, encode(event), key=str(event.data.get("id") or event.event_id))
            for event in events
        ]
        await asyncio.gather(*futures)

    async def batch_resolved(self, event: BatchEvent) -> None:
        """Announce a resolved batch's end (nothing for a status that is not terminal)."""
        webhook = batch_webhook(event)
        if webhook is not None:
            await self.publish([webhook])

    async def answered(self, batch: BatchRow, answers: Sequence[tuple[MemberRow, Answer]]) -> None:
        """Announce the answers of ``batch`` whose callers asked for an asynchronous answer."""
        if not answers:
            return
        stored = await asyncio.to_thread(
            member_requests, self._engine, batch_id=batch.id, request_ids=[m.request_id for m, _ in answers]
        )
        wanted = {rid for rid, text in stored.items() if decode(RequestMessage, text).notify}
        await self.publish(
            [
                request_webhook(
                    request_id=member.request_id,
                    status=answer.status,
                    status_code=answer.status_code,
                    endpoint=batch.endpoint,
                )
                for member, answer in answers
                if member.request_id in wanted
            ]
        )
