"""The delivery worker: reads the webhooks topic and POSTs each event, signed, to ``BATCHGPT_WEBHOOK_URL`` until the
receiver answers 2xx; after ``BATCHGPT_WEBHOOK_MAX_ATTEMPTS`` failures the event goes to the dead-letter topic
(reason ``undeliverable``). At least once: offsets are committed only after every event read was delivered or
dead-lettered, so a worker that dies re-delivers what it had in hand (same ``webhook-id``: receivers dedupe).

It runs as its own task in the resolver process (:mod:`resolver.app`), in its own consumer group
``<prefix>webhooks`` (several resolvers share the topic's partitions). Up to ``BATCHGPT_WEBHOOK_CONCURRENCY`` events
are delivered at once; while a receiver fails, only this task waits (the backoff): the resolver's polls and
answers go on, and the events wait on Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import httpx
from confluent_kafka import Message

from batchgpt.kafka import AsyncConsumer, AsyncProducer
from batchgpt.settings import KafkaSettings, OutboundWebhookSettings
from batchgpt.upstream.backoff import Backoff
from batchgpt.webhooks.events import event_body
from batchgpt.webhooks.metrics import WebhookMetrics
from batchgpt.webhooks.posting import Attempted, Delivery, deliver
from batchgpt.webhooks.signing import Signer
from schemas import DeadLetter, DecodeError, TopicNames, WebhookEvent, decode, encode

__all__ = ["SESSION_TIMEOUT_MS", "WebhookDelivery", "group_id"]

logger = logging.getLogger(__name__)

SESSION_TIMEOUT_MS = 10_000
_REJOIN_BACKOFF = Backoff(1.0, 30.0)


def group_id(settings: KafkaSettings) -> str:
    """The delivery workers' consumer group on the webhooks topic."""
    return f"{settings.topic_prefix}webhooks"


class WebhookDelivery:
    """Delivers the webhooks topic to one URL; ``run(stop)`` until ``stop`` is set."""

    def __init__(
        self, settings: KafkaSettings, hooks: OutboundWebhookSettings, producer: AsyncProducer, metrics: WebhookMetrics
    ) -> None:
        if hooks.webhook_url is None or hooks.webhook_secret is None:
            raise ValueError("webhooks out need BATCHGPT_WEBHOOK_URL and BATCHGPT_WEBHOOK_SECRET")
        self._kafka = settings
        self._topics: TopicNames = settings.topics
        self._hooks = hooks
        self._producer = producer
        self._metrics = metrics
        self._delivery = Delivery(
            url=hooks.webhook_url,
            signer=Signer(hooks.webhook_secret.get_secret_value()),
            max_attempts=hooks.webhook_max_attempts,
            backoff=Backoff(hooks.webhook_backoff_seconds, hooks.webhook_backoff_max_seconds),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``; what is in hand then is left uncommitted (delivered again by the next worker).

        When Kafka fails under it (a commit, a dead letter), the consumer is closed and a new one joins the group
        after a backoff, resuming from the last committed offsets: nothing is skipped.
        """
        failures = 0
        while not stop.is_set():
            try:
                await self._consume(stop)
                return
            except Exception:
                failures += 1
                logger.exception("webhook delivery failed; rejoining", extra={"failures": failures})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=_REJOIN_BACKOFF.delay(failures))

    async def _consume(self, stop: asyncio.Event) -> None:
        """One consumer's life: read, deliver every event read, commit; until ``stop`` (or an error)."""
        consumer = AsyncConsumer(
            {
                "bootstrap.servers": self._kafka.kafka_bootstrap_servers,
                "group.id": group_id(self._kafka),
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                # a worker killed with events in hand leaves the group within seconds, not librdkafka's 45 s
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "log_level": 3,
            }
        )
        await consumer.start()
        try:
            await consumer.subscribe([self._topics.webhooks])
            async with httpx.AsyncClient(timeout=self._hooks.webhook_timeout_seconds) as client:
                while not stop.is_set():
                    messages = [
                        m
                        for m in await consumer.consume(num_messages=self._hooks.webhook_concurrency, timeout_s=0.25)
                        if m.error() is None
                    ]
                    if not messages:
                        continue
                    work: asyncio.Future[Any] = asyncio.gather(*(self._handle(client, m) for m in messages))
                    stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
                    await asyncio.wait([work, stopped], return_when=asyncio.FIRST_COMPLETED)
                    stopped.cancel()
                    if not work.done():  # stopping mid-delivery: leave them to the next worker
                        work.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await work
                        return
                    work.result()
                    await consumer.commit(asynchronous=False)
        finally:
            await consumer.close()

    async def _handle(self, client: httpx.AsyncClient, message: Message) -> None:
        """Deliver one record, or dead-letter it (undecodable, or every attempt failed)."""
        try:
            event = decode(WebhookEvent, message.value())
        except DecodeError as exc:
            await self._dead_letter(message, "invalid_shape", str(exc))
            return
        body = event_body(event_id=event.event_id, event_type=event.type, created_at=event.created_at, data=event.data)
        delivered = await deliver(client, self._delivery, event_id=event.event_id, body=body, on_attempt=self._count)
        if delivered:
            self._metrics.deliveries.labels("delivered").inc()
            self._metrics.delivery_seconds.observe(max(0.0, time.time() - event.created_at))
            return
        await self._dead_letter(
            message, "undeliverable", f"{self._hooks.webhook_max_attempts} attempts to the webhook URL failed"
        )
        self._metrics.deliveries.labels("dead_lettered").inc()
        logger.warning("webhook dead-lettered", extra={"event_id": event.event_id, "type": event.type})

    def _count(self, attempt: Attempted) -> None:
        self._metrics.attempts.labels("success" if attempt.ok else "failure").inc()
        self._metrics.attempt_seconds.observe(attempt.seconds)

    async def _dead_letter(self, message: Message, reason: str, error: str) -> None:
        raw = message.value() or b""
        key = message.key()
        letter = DeadLetter.model_validate(
            {
                "reason": reason,
                "error": error,
                "source_topic": message.topic(),
                "partition": message.partition(),
                "offset": message.offset(),
                "key": key.decode(errors="replace") if isinstance(key, bytes) else key,
                "value": raw.decode(errors="replace"),
            }
        )
        await self._producer.produce(self._topics.dead_letter, encode(letter), key=letter.key)
