"""Test harness for the collator: producing requests, reading topics, querying the database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka import Consumer, Producer
from sqlalchemy import Engine, select

from batchgpt.settings import KafkaSettings
from batchgpt.store.tables import batch_members, batches, requests
from schemas.codec import encode
from schemas.messages import ReplyTo, RequestMessage
from schemas.status import Endpoint
from tests.support.waiting import async_wait_for

__all__ = [
    "batch_rows",
    "wait_batches",
    "chat_request",
    "member_rows",
    "produce",
    "produce_raw",
    "read_topic",
    "read_topic_async",
    "request_rows",
]


def chat_request(model: str, *, tenant: str = "default", text: str | None = None, **extra: Any) -> RequestMessage:
    """A chat request with a fresh id."""
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text or f"hi {uuid.uuid4()}"}]}
    body.update(extra)
    return RequestMessage(
        request_id=f"req_{uuid.uuid4().hex}", body=body, tenant=tenant, reply_to=None, received_at=time.time()
    )


def message_request(model: str, *, tenant: str = "default") -> RequestMessage:
    """An Anthropic messages request with a fresh id (batched through Message Batches)."""
    text = f"hi {uuid.uuid4()}"
    body: dict[str, Any] = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]}
    return RequestMessage(
        request_id=f"req_{uuid.uuid4().hex}",
        endpoint=Endpoint.MESSAGES,
        body=body,
        tenant=tenant,
        reply_to=None,
        received_at=time.time(),
    )


def produce_raw(settings: KafkaSettings, items: Iterable[tuple[bytes | None, bytes | None]]) -> int:
    """Produce raw (key, value) pairs to the requests topic; wait for delivery; the count."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all", "log_level": 3})
    count = 0
    for key, value in items:
        producer.produce(settings.topics.requests, value=value, key=key)
        count += 1
    remaining = producer.flush(30)
    assert remaining == 0, "messages left undelivered"
    return count


def produce(settings: KafkaSettings, messages: Sequence[RequestMessage]) -> None:
    """Produce request messages keyed by request id."""
    produce_raw(settings, ((m.request_id.encode(), encode(m)) for m in messages))


def read_topic(settings: KafkaSettings, topic: str, *, expect: int, timeout_s: float = 30.0) -> list[Any]:
    """Read ``expect`` messages from the start of ``topic`` (fails after ``timeout_s``)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    consumer.subscribe([topic])
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < expect and time.monotonic() < deadline:
            for message in consumer.consume(100, 0.2):
                if message.error() is None:
                    got.append(message)
    finally:
        consumer.close()
    assert len(got) >= expect, f"read {len(got)} of {expect} messages from {topic}"
    return got


async def read_topic_async(settings: KafkaSettings, topic: str, *, expect: int, timeout_s: float = 30.0) -> list[Any]:
    """:func:`read_topic` off the event loop (so an in-process worker keeps running)."""
    return await asyncio.to_thread(read_topic, settings, topic, expect=expect, timeout_s=timeout_s)


def batch_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every ``batches`` row."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(batches)).mappings()]


def member_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every ``batch_members`` row."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(batch_members)).mappings()]


def request_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """``requests`` rows by request id."""
    with engine.connect() as conn:
        return {r["request_id"]: dict(r) for r in conn.execute(select(requests)).mappings()}


async def wait_batches(engine: Engine, count: int, *, timeout_s: float = 30.0, submitted: bool = True) -> None:
    """Wait until ``count`` batch rows exist and none is pending (or, with ``submitted``, all have an upstream id)."""

    async def done() -> bool:
        rows = batch_rows(engine)
        if len(rows) != count:
            return False
        return all(r["upstream_batch_id"] for r in rows) if submitted else all(r["status"] != "pending" for r in rows)

    await async_wait_for(done, timeout_s=timeout_s, what=f"{count} batches recorded")


def reply_to(topic: str, partition: int | None = None) -> ReplyTo:
    """A ReplyTo value."""
    return ReplyTo(topic=topic, partition=partition)
