"""Shared I/O adapters for the batch-gpt services: settings, Kafka, database, OpenAI client, logging."""

__all__: list[str] = []
