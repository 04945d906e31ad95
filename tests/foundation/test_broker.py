"""The real broker: produce and consume through it with confluent-kafka and with faust."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import faust
from confluent_kafka import Consumer, Producer
from faust.contrib.asgi import faust_app_running

from batchgpt.broker import KAFKA_VERSION, wait_until_ready
from batchgpt.kafka import AsyncProducer, ensure_topics, ping_kafka, producer_config
from batchgpt.settings import KafkaSettings
from tests.support.waiting import wait_for

pytestmark = __import__("pytest").mark.integration


def test_broker_answers_admin_requests(kafka_bootstrap: str) -> None:
    wait_until_ready(kafka_bootstrap, timeout_s=10)
    ping_kafka(KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap))


def test_ensure_topics_creates_the_contract_topics(kafka_settings: KafkaSettings) -> None:
    from confluent_kafka.admin import AdminClient

    topics = AdminClient({"bootstrap.servers": kafka_settings.kafka_bootstrap_servers}).list_topics(timeout=10).topics
    for name in kafka_settings.topics.all():
        assert name in topics
        assert len(topics[name].partitions) == 2
    ensure_topics(kafka_settings)  # idempotent


def test_confluent_kafka_produce_and_consume(kafka_settings: KafkaSettings, consumer_group: str) -> None:
    topic = kafka_settings.topics.requests
    producer = Producer(producer_config(kafka_settings))
    delivered: list[str] = []
    for i in range(5):
        producer.produce(topic, key=f"k{i}", value=f"v{i}".encode(), on_delivery=lambda e, m: delivered.append(str(e)))
    assert producer.flush(15) == 0
    assert delivered == ["None"] * 5
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_settings.kafka_bootstrap_servers,
            "group.id": consumer_group,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    seen: set[bytes] = set()

    def _consumed_all() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.add(msg.value())
        return len(seen) == 5

    try:
        wait_for(_consumed_all, timeout_s=30, what="5 messages")
    finally:
        consumer.close()
    assert seen == {f"v{i}".encode() for i in range(5)}


async def test_async_producer_waits_for_acknowledgement(kafka_settings: KafkaSettings) -> None:
    producer = AsyncProducer(producer_config(kafka_settings))
    producer.start()
    try:
        msgs = await asyncio.gather(
            *(producer.produce(kafka_settings.topics.replies, f"r{i}".encode(), key=f"r{i}") for i in range(2000))
        )
    finally:
        assert producer.stop() == 0
    assert all(m.error() is None and m.offset() >= 0 for m in msgs)
    # every caller got its own message's report (reports are handed over in groups, one per poll)
    assert [m.value() for m in msgs] == [f"r{i}".encode() for i in range(2000)]
    assert len({(m.partition(), m.offset()) for m in msgs}) == 2000


async def test_faust_take_events_consumes_from_the_broker(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    topic_name = kafka_settings.topics.requests
    app = faust.App(
        f"bgt-test-{uuid.uuid4().hex[:8]}",
        datadir=tmp_path / "faust",
        broker=f"kafka://{kafka_settings.kafka_bootstrap_servers}",
        store="memory://",
        web_enabled=False,
        topic_partitions=2,
    )
    topic = app.topic(topic_name, value_serializer="raw", partitions=2)
    windows: list[list[bytes]] = []
    got_all = asyncio.Event()

    @app.agent(topic)
    async def collect(stream: faust.StreamT) -> None:
        async for events in stream.take_events(100, within=0.3):
            windows.append([e.value for e in events])
            if sum(map(len, windows)) >= 6:
                got_all.set()

    producer = Producer(producer_config(kafka_settings))
    for i in range(6):
        producer.produce(topic_name, key=f"k{i}", value=f"m{i}".encode())
    assert producer.flush(15) == 0
    async with faust_app_running(app):
        await asyncio.wait_for(got_all.wait(), timeout=60)
    assert sorted(v for w in windows for v in w) == [f"m{i}".encode() for i in range(6)]


def test_kafka_version_is_the_current_4x_line() -> None:
    assert KAFKA_VERSION.startswith("4.")
