"""The settings values that put a service under test on the test's own topics, database and simulator."""

from __future__ import annotations

from typing import Any

from batchgpt.settings import KafkaSettings

__all__ = ["connection_values"]


def connection_values(kafka: KafkaSettings, database_url: str, openai_base_url: str) -> dict[str, Any]:
    """Broker, topic prefix and partitions of ``kafka``, the database, and the upstream at ``openai_base_url``
    (the simulator), as keyword arguments of a worker's settings (``CollatorSettings``, ``ResolverSettings``)."""
    return {
        "kafka_bootstrap_servers": kafka.kafka_bootstrap_servers,
        "topic_prefix": kafka.topic_prefix,
        "topic_partitions": kafka.topic_partitions,
        "database_url": database_url,
        "openai_api_key": "sk-test",
        "openai_base_url": openai_base_url,
    }
