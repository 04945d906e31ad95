"""Kafka adapters over confluent-kafka: an asyncio producer with delivery futures, a one-thread
consumer, and topic creation. Built only in the services' composition roots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer as _Consumer
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from batchgpt.settings import KafkaSettings

__all__ = [
    "AsyncConsumer",
    "AsyncProducer",
    "DeliveryError",
    "MAX_MESSAGE_BYTES",
    "admin_client",
    "ensure_topics",
    "ping_kafka",
    "producer_config",
]

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.1


class DeliveryError(RuntimeError):
    """Kafka did not acknowledge a message; ``kafka_error`` is librdkafka's reason when it gave one."""

    def __init__(self, message: str, kafka_error: KafkaError | None = None) -> None:
        super().__init__(message)
        self.kafka_error = kafka_error


MAX_MESSAGE_BYTES = 10_000_000
"""The largest message batch-gpt produces, and the ``max.message.bytes`` of the topics it creates: a reply
carries a whole result (an embeddings answer of a few dozen inputs is already over the broker's 1 MB default)."""


def producer_config(settings: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings for a producer that never loses or duplicates (acks=all, idempotent)."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": settings.kafka_linger_ms,
        # no compression: aiokafka (under faust) cannot read lz4/snappy/zstd without extra libraries
        "compression.type": "none",
        "message.max.bytes": MAX_MESSAGE_BYTES,
        "log_level": 3,
    }
    config.update(extra)
    return config


def admin_client(settings: KafkaSettings) -> AdminClient:
    """An AdminClient for the configured broker."""
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers, "log_level": 3})


def ping_kafka(settings: KafkaSettings, timeout_s: float = 3.0) -> None:
    """Raise if the broker does not answer a metadata request within ``timeout_s``."""
    metadata = admin_client(settings).list_topics(timeout=timeout_s)
    if not metadata.brokers:
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "no brokers in metadata"))


def ensure_topics(
    settings: KafkaSettings, names: Iterable[str] | None = None, partitions: int | None = None, timeout_s: float = 30.0
) -> None:
    """Create the contract's topics (or ``names``) if missing, taking messages up to :data:`MAX_MESSAGE_BYTES`,
    with ``BATCHGPT_TOPIC_REPLICATION_FACTOR`` replicas and ``BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS`` when set (the
    broker's defaults otherwise); existing topics are left as they are."""
    admin = admin_client(settings)
    wanted = list(names) if names is not None else list(settings.topics.all())
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [n for n in wanted if n not in existing]
    if not missing:
        return
    config = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
    if settings.topic_min_insync_replicas is not None:
        config["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
    count = partitions or settings.topic_partitions
    futures = admin.create_topics(
        [
            NewTopic(n, num_partitions=count, replication_factor=settings.topic_replication_factor or -1, config=config)
            for n in missing
        ],
        operation_timeout=timeout_s,
    )
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
        logger.info("topic ready", extra={"topic": name, "partitions": count})


@dataclass(frozen=True, slots=True)
class _Report:
    """One delivery report, waiting to be handed to the event loop that owns its future."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Message]
    topic: str
    error: KafkaError | None
    message: Message


def _settle_all(reports: list[_Report]) -> None:
    """Complete the futures of ``reports`` (runs in their event loop)."""
    for report in reports:
        if report.future.done():
            continue
        if report.error is not None:
            report.future.set_exception(
                DeliveryError(f"delivery to {report.topic} failed: {report.error}", report.error)
            )
        else:
            report.future.set_result(report.message)


class AsyncProducer:
    """One confluent ``Producer`` per process, driven from asyncio.

    ``produce`` returns once Kafka acknowledged the message (acks=all), or raises
    :class:`DeliveryError`. A daemon thread serves delivery callbacks; the reports one ``poll``
    served are handed to the event loop together (one ``loop.call_soon_threadsafe`` per poll, not
    per message), which completes the callers' futures.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = dict(config)
        self._producer: Producer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reports: list[_Report] = []  # delivery reports served by poll(), not yet handed to their loop
        self._reports_lock = threading.Lock()

    def start(self) -> None:
        """Create the client and its poll thread (no network work happens before this)."""
        if self._producer is not None:
            return
        self._producer = Producer(self._config)
        self._thread = threading.Thread(target=self._poll_loop, name="kafka-producer-poll", daemon=True)
        self._thread.start()

    def _poll_loop(self) -> None:
        assert self._producer is not None
        while not self._stopping.is_set():
            self._producer.poll(_POLL_SECONDS)
            self._hand_over()

    def _hand_over(self) -> None:
        """Settle the futures of the reports served so far: one call into each event loop."""
        with self._reports_lock:
            reports, self._reports = self._reports, []
        by_loop: dict[asyncio.AbstractEventLoop, list[_Report]] = {}
        for report in reports:
            by_loop.setdefault(report.loop, []).append(report)
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(_settle_all, batch)

    @property
    def client(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("AsyncProducer.start() was not called")
        return self._producer

    def produce_nowait(
        self,
        topic: str,
        value: bytes,
        key: bytes | str | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Message]:
        """Queue one message; the returned future resolves on delivery."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Message] = loop.create_future()

        def _on_delivery(err: KafkaError | None, msg: Message) -> None:
            with self._reports_lock:
                self._reports.append(_Report(loop, future, topic, err, msg))

        kwargs: dict[str, Any] = {"value": value, "key": key, "on_delivery": _on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        while True:
            try:
                self.client.produce(topic, **kwargs)
                break
            except BufferError:
                self.client.poll(0.05)  # queue full: let deliveries drain
                self._hand_over()
        return future

    produce = produce_nowait
    """The same method, named for the call sites that wait: ``await producer.produce(...)`` produces one message
    and returns once Kafka acknowledged it."""

    def stop(self, timeout_s: float = 10.0) -> int:
        """Flush (bounded) and stop the poll thread; return how many messages were left undelivered."""
        if self._producer is None:
            return 0
        remaining: int = self._producer.flush(timeout_s)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._hand_over()  # reports flush() served in this thread
        self._producer = None
        return remaining


class AsyncConsumer:
    """A confluent ``Consumer`` whose every call runs on one dedicated thread (poll and close never overlap)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = dict(config)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-consumer")
        self._consumer: _Consumer | None = None

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def start(self) -> None:
        def _make() -> _Consumer:
            return _Consumer(self._config)

        self._consumer = await self._call(_make)

    @property
    def client(self) -> _Consumer:
        if self._consumer is None:
            raise RuntimeError("AsyncConsumer.start() was not called")
        return self._consumer

    async def subscribe(self, topics: list[str], **kwargs: Any) -> None:
        await self._call(self.client.subscribe, topics, **kwargs)

    async def assign(self, partitions: list[Any]) -> None:
        await self._call(self.client.assign, partitions)

    async def consume(self, num_messages: int = 500, timeout_s: float = 0.5) -> list[Message]:
        messages: list[Message] = await self._call(self.client.consume, num_messages, timeout_s)
        return messages

    async def commit(self, **kwargs: Any) -> Any:
        return await self._call(self.client.commit, **kwargs)

    async def close(self) -> None:
        if self._consumer is not None:
            await self._call(self._consumer.close)
            self._consumer = None
        self._executor.shutdown(wait=False)
