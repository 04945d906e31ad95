"""Prometheus metrics of one collator instance, on a registry of its own (two instances can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["CollatorMetrics"]


class CollatorMetrics:
    """Windows, batches, lines, bytes, dead letters and upstream errors."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.windows = Counter("batchgpt_collator_windows", "Windows processed.", registry=r)
        self.window_messages = Histogram(
            "batchgpt_collator_window_messages",
            "Messages per window.",
            buckets=(1, 10, 100, 1000, 10_000, 50_000, 100_000),
            registry=r,
        )
        self.window_seconds = Histogram(
            "batchgpt_collator_window_processing_seconds", "Time to process one window.", registry=r
        )
        self.batches = Counter(
            "batchgpt_collator_batches", "Batches by outcome (submitted, adopted, failed).", ["outcome"], registry=r
        )
        self.lines = Counter("batchgpt_collator_lines", "JSONL lines submitted upstream.", registry=r)
        self.bytes = Counter("batchgpt_collator_bytes", "JSONL bytes submitted upstream.", registry=r)
        self.duplicates = Counter(
            "batchgpt_collator_duplicates", "Requests skipped because they were already in a batch.", registry=r
        )
        self.left_window = Counter(
            "batchgpt_collator_left_window",
            "Requests left out of a window: their deadline passed (the resolver's fallback answers them).",
            registry=r,
        )
        self.dead_letters = Counter(
            "batchgpt_collator_dead_letters", "Messages sent to the dead-letter topic.", ["reason"], registry=r
        )
        self.upstream_errors = Counter(
            "batchgpt_collator_upstream_errors",
            "Upstream API errors by operation and kind.",
            ["operation", "kind", "status"],
            registry=r,
        )
        self.failed_requests = Counter(
            "batchgpt_collator_failed_requests",
            "Requests of batches whose submission failed (the resolver answers them).",
            registry=r,
        )
        self.internal_retries = Counter(
            "batchgpt_collator_internal_retries", "Retries of database or Kafka operations.", ["operation"],
            registry=r,
        )
