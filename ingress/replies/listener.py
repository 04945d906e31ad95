"""Background consumer of the replies topic: decodes each reply and hands it to the correlator.

Each replica reads with a group id of its own (every replica sees every reply, keeps those it
waits for) from the latest offset, never committing; with ``BATCHGPT_REPLY_PARTITION`` it is
assigned that one partition of the replies topic instead. A reply published before the consumer
was positioned is found in the ``results`` table by the sweeper.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from confluent_kafka import OFFSET_END, TopicPartition

from batchgpt.kafka import AsyncConsumer
from ingress.metrics import IngressMetrics
from ingress.replies.correlator import Correlator
from ingress.replies.outcomes import Finished
from schemas.codec import DecodeError, decode
from schemas.messages import ReplyMessage

__all__ = ["ReplyListener"]

logger = logging.getLogger(__name__)


class ReplyListener:
    """Owns the replies consumer and its task."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        partition: int | None,
        correlator: Correlator,
        metrics: IngressMetrics,
    ) -> None:
        self._topic = topic
        self._partition = partition
        self._correlator = correlator
        self._metrics = metrics
        self.group_id = f"batchgpt-ingress-{uuid.uuid4().hex[:16]}"
        self.assigned = False
        self._consumer = AsyncConsumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": self.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 1000,
                "log_level": 3,
            }
        )
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        self.assigned = True

    async def start(self) -> None:
        """Create the consumer, subscribe (or assign) and start reading."""
        await self._consumer.start()
        if self._partition is None:
            await self._consumer.subscribe([self._topic], on_assign=self._on_assign)
        else:
            await self._consumer.assign([TopicPartition(self._topic, self._partition, OFFSET_END)])
            self.assigned = True
        self._task = asyncio.create_task(self._run(), name="ingress-replies")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                messages = await self._consumer.consume(500, 0.25)
            except Exception:  # noqa: BLE001 - keep listening; the sweeper covers any gap
                logger.exception("replies consumer failed; retrying")
                await asyncio.sleep(1)
                continue
            for message in messages:
                if message.error():
                    logger.warning("replies consumer error", extra={"kafka_error": str(message.error())})
                    continue
                self.handle(message.value(), message.key())

    def handle(self, value: bytes | None, key: bytes | None = None) -> None:
        """Decode one reply and wake its waiters (duplicates and other replicas' replies are ignored).

        The key is the request id: a reply nobody here waits for is skipped without decoding it.
        """
        self._metrics.replies.inc()
        if key is not None and key.decode("utf-8", "replace") not in self._correlator:
            return
        try:
            reply = decode(ReplyMessage, value)
        except DecodeError as exc:
            logger.warning("undecodable reply skipped", extra={"reason": exc.reason})
            return
        if self._correlator.resolve(Finished.from_reply(reply)):
            self._metrics.replies_matched.inc()

    async def stop(self) -> None:
        """Stop reading and close the consumer."""
        self._stopping = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.close()
