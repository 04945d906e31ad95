"""Topic names (after the configurable prefix) and header keys: the single source of truth."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_TOPIC_PREFIX", "HEADER_CONTENT_TYPE", "HEADER_SCHEMA_VERSION", "TopicNames"]

DEFAULT_TOPIC_PREFIX = "batchgpt."

HEADER_CONTENT_TYPE = "content-type"
HEADER_SCHEMA_VERSION = "batchgpt-schema-version"


@dataclass(frozen=True)
class TopicNames:
    """The topics of the contract, resolved against a prefix."""

    prefix: str = DEFAULT_TOPIC_PREFIX

    @property
    def requests(self) -> str:
        return f"{self.prefix}requests"

    @property
    def replies(self) -> str:
        return f"{self.prefix}replies"

    @property
    def batches(self) -> str:
        return f"{self.prefix}batches"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}dead-letter"

    @property
    def webhooks(self) -> str:
        """Events for batch-gpt's own webhook receiver (``BATCHGPT_WEBHOOK_URL``), delivered from here."""
        return f"{self.prefix}webhooks"

    def all(self) -> tuple[str, ...]:
        """Every topic, in pipeline order."""
        return (self.requests, self.replies, self.batches, self.dead_letter, self.webhooks)
