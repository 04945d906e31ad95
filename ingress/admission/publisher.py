"""Produces accepted requests to the requests topic and waits for Kafka's acknowledgement."""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import KafkaException

from batchgpt.kafka import AsyncProducer, DeliveryError
from ingress.errors import ServiceUnavailable
from ingress.outages import Dependency, failed_dependency, outage_error
from schemas.codec import CONTENT_TYPE, encode
from schemas.messages import SCHEMA_VERSION, ReplyTo, RequestMessage
from schemas.status import Endpoint
from schemas.topics import HEADER_CONTENT_TYPE, HEADER_SCHEMA_VERSION, TopicNames

__all__ = ["RequestPublisher"]

_HEADERS = [(HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()), (HEADER_SCHEMA_VERSION, str(SCHEMA_VERSION).encode())]


class RequestPublisher:
    """Builds the ``RequestMessage`` (reply routing to this replica) and produces it (acks=all, idempotent)."""

    def __init__(
        self,
        producer: AsyncProducer,
        topics: TopicNames,
        *,
        reply_partition: int | None,
        timeout_seconds: float,
        retry_after_seconds: int,
    ) -> None:
        self._producer = producer
        self._topics = topics
        self._reply_to = ReplyTo(topic=topics.replies, partition=reply_partition)
        self._timeout_seconds = timeout_seconds
        self._retry_after_seconds = retry_after_seconds

    @property
    def timeout_seconds(self) -> float:
        """How long a produce may wait for Kafka's acknowledgement before the call is refused."""
        return self._timeout_seconds

    def message(
        self,
        *,
        request_id: str,
        endpoint: Endpoint,
        body: dict[str, Any],
        tenant: str,
        received_at: float,
        notify: bool = False,
    ) -> RequestMessage:
        """The request as it goes on the requests topic (replies routed to this replica)."""
        return RequestMessage(
            request_id=request_id,
            endpoint=endpoint,
            body=body,
            tenant=tenant,
            reply_to=self._reply_to,
            received_at=received_at,
            notify=notify,
        )

    async def publish(self, message: RequestMessage) -> None:
        """Produce one request; return once Kafka acknowledged it (built by :meth:`message`).

        :raises ServiceUnavailable: Kafka refused it or did not answer in time (nothing was accepted); when the
            broker could not take it (no answer in time, its queue full, a delivery that failed), the outage's
            ``broker_unavailable``.
        """
        request_id = message.request_id
        try:
            future = self._producer.produce_nowait(
                self._topics.requests, encode(message), key=request_id, headers=_HEADERS
            )
            async with asyncio.timeout(self._timeout_seconds):
                await future
        except (TimeoutError, BufferError) as exc:
            raise outage_error(Dependency.BROKER, self._retry_after_seconds) from exc
        except (DeliveryError, KafkaException, RuntimeError) as exc:
            if failed_dependency(exc) is Dependency.BROKER:
                raise outage_error(Dependency.BROKER, self._retry_after_seconds) from exc
            raise ServiceUnavailable(
                "The request could not be queued (Kafka did not acknowledge it); nothing was accepted. Please retry.",
                retry_after_seconds=self._retry_after_seconds,
            ) from exc
