"""Reads every message of a topic from the beginning (all partitions assigned, no group), for assertions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from schemas import BatchEvent, ReplyMessage, RequestMessage, decode

__all__ = ["Seen", "TopicReader"]


@dataclass(frozen=True)
class Seen:
    """One message read: its partition, key and raw value."""

    partition: int
    key: str | None
    value: bytes


class TopicReader:
    """A consumer assigned to every partition of one topic, from the first offset."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "log_level": 3,
            }
        )
        metadata = self._consumer.list_topics(topic, timeout=10)
        partitions = sorted(metadata.topics[topic].partitions)
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self.seen: list[Seen] = []

    def drain(self, timeout_s: float = 0.2) -> list[Seen]:
        """Read what is available now; return everything read so far."""
        while True:
            batch = self._consumer.consume(1000, timeout_s)
            if not batch:
                return self.seen
            for message in batch:
                if message.error() is None:
                    key = message.key()
                    self.seen.append(Seen(message.partition(), key.decode() if key else None, message.value()))

    def replies(self) -> list[ReplyMessage]:
        """Drain and decode as replies."""
        return [decode(ReplyMessage, s.value) for s in self.drain()]

    def requests(self) -> list[RequestMessage]:
        """Drain and decode as requests."""
        return [decode(RequestMessage, s.value) for s in self.drain()]

    def events(self) -> list[BatchEvent]:
        """Drain and decode as batch events."""
        return [decode(BatchEvent, s.value) for s in self.drain()]

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
