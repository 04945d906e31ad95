"""Prometheus metrics of webhook deliveries, registered on the registry of the process that delivers them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["WebhookMetrics"]


class WebhookMetrics:
    """Attempts (by result), events delivered and dead-lettered, the time of each attempt and of each delivery."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "batchgpt_webhook_attempts",
            "Webhook POSTs, by result (success: a 2xx; failure: any other answer or none).",
            ["result"],
            registry=registry,
        )
        self.deliveries = Counter(
            "batchgpt_webhook_deliveries",
            "Webhook events finished, by outcome (delivered, dead_lettered).",
            ["outcome"],
            registry=registry,
        )
        self.attempt_seconds = Histogram(
            "batchgpt_webhook_attempt_seconds",
            "Time of one webhook POST until the receiver's answer (or the failure).",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "batchgpt_webhook_delivery_seconds",
            "Time from an event's creation to its delivery (retries included).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=registry,
        )
