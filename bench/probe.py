"""A Kafka probe for the cluster benchmark: acks=all writes to every partition of a replicated topic at a steady
pace and a consumer group reading them, so a broker's death shows as how long writes waited for their
acknowledgement and how long the consumer received nothing."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Message, Producer

from batchgpt.kafka import ensure_topics, producer_config
from batchgpt.settings import KafkaSettings, load_settings
from bench.figures import percentile

__all__ = ["Probe"]


@dataclass
class Probe:
    """Writes one message every ``interval_s`` to the partitions of ``topic`` in turn, and reads them back."""

    bootstrap_servers: str
    topic: str
    partitions: int = 3
    interval_s: float = 0.05
    sent: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    failed: int = 0
    consumed: list[tuple[int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, replication_factor: int = 3, min_insync_replicas: int = 2) -> None:
        settings = load_settings(
            KafkaSettings,
            environ={
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                "BATCHGPT_TOPIC_REPLICATION_FACTOR": str(replication_factor),
                "BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS": str(min_insync_replicas),
            },
        )
        ensure_topics(settings, names=[self.topic], partitions=self.partitions)
        producer = Producer(producer_config(settings, log_level=0))  # a dead broker's refusals are expected
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": f"probe-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "log_level": 0,
            }
        )
        consumer.subscribe([self.topic])
        self._threads = [
            threading.Thread(target=self._produce, args=(producer,), daemon=True),
            threading.Thread(target=self._consume, args=(consumer,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _produce(self, producer: Producer) -> None:
        seq = 0
        started = time.monotonic()
        while not self._stop.is_set():
            n = seq

            def _delivered(err: KafkaError | None, msg: Message, n: int = n) -> None:
                if err is None:
                    self.acked[n] = time.monotonic()
                else:
                    self.failed += 1

            self.sent[n] = time.monotonic()
            producer.produce(self.topic, str(n).encode(), partition=n % self.partitions, on_delivery=_delivered)
            seq += 1
            producer.poll(max(0.0, started + seq * self.interval_s - time.monotonic()))  # the probe's pace
        producer.flush(10)

    def _consume(self, consumer: Consumer) -> None:
        while not self._stop.is_set():
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                self.consumed.append((int(msg.value() or b"-1"), time.monotonic()))
        consumer.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def figures(self) -> list[str]:
        """The probe's lines for the report: acknowledgement waits and the consumer's longest silence."""
        waits = [self.acked[n] - self.sent[n] for n in self.acked]
        unacked = len(self.sent) - len(self.acked)
        times = sorted(t for _, t in self.consumed)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        delays = [t - self.sent[n] for n, t in self.consumed if n in self.sent]
        return [
            f"probe writes (acks=all) {len(self.sent)} to {self.partitions} partitions: ack wait p50 "
            f"{percentile(waits, 50) * 1000:.0f} ms, max {max(waits, default=0):.1f} s; {unacked} never acknowledged "
            f"({self.failed} failed)",
            f"probe reads             {len(self.consumed)}: longest silence {max(gaps, default=0):.1f} s, "
            f"longest write-to-read {max(delays, default=0):.1f} s",
        ]
