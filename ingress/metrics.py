"""Ingress's Prometheus metrics, on a registry of each app's own (two apps in one process never clash); with
several worker processes, ``/metrics`` shows the sum over the workers (:mod:`ingress.process.shared_metrics`)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ingress.process.shared_metrics import SharedMetrics
from schemas.status import Endpoint

__all__ = ["IngressMetrics"]


class IngressMetrics:
    """Counters, gauges and histograms served at ``/metrics``."""

    def __init__(self, shared: SharedMetrics | None = None) -> None:
        """``shared``: this process is one of several workers whose metrics ``/metrics`` shows summed."""
        self._shared = shared
        self.registry = CollectorRegistry(auto_describe=True)
        """This process's own metrics (with ``shared``, its share of the sum)."""
        self.accepted = Counter(
            "batchgpt_ingress_requests_accepted_total",
            "Requests acknowledged by Kafka and accepted.",
            ["endpoint"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "batchgpt_ingress_requests_rejected_total",
            "Requests answered with an error before anything was produced, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.held = Gauge(
            "batchgpt_ingress_held_calls",
            "Calls currently held open.",
            registry=self.registry,
            multiprocess_mode="livesum",  # summed over the live workers: a dead worker holds nothing
        )
        self.replies = Counter(
            "batchgpt_ingress_replies_received_total", "Replies read from the replies topic.", registry=self.registry
        )
        self.replies_matched = Counter(
            "batchgpt_ingress_replies_matched_total",
            "Replies that completed at least one held call of this replica.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "batchgpt_ingress_request_latency_seconds",
            "Time from arrival to the answer of a POST, by how it was answered.",
            ["endpoint", "outcome"],
            buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400),
            registry=self.registry,
        )
        self.reattached = Counter(
            "batchgpt_ingress_reattach_total",
            "Requests attached to one already under way (or answered from it), by how it was recognised.",
            ["via"],
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "batchgpt_ingress_cache_hits_total", "Requests answered from a stored result.", registry=self.registry
        )
        self.produced_again = Counter(
            "batchgpt_ingress_produced_again_total",
            "Queued requests with no batch produced again for a re-send (their first produce may have been lost).",
            registry=self.registry,
        )
        self.webhooks_received = Counter(
            "batchgpt_ingress_webhooks_received_total",
            "Provider webhooks received, by outcome (notified, ignored, invalid_signature).",
            ["outcome"],
            registry=self.registry,
        )
        self.admission_group = Histogram(
            "batchgpt_ingress_admission_group_size",
            "Submissions looked up and recorded per database transaction (group commit).",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The Prometheus text served at ``/metrics``: this process's registry, or every worker's summed."""
        return self._shared.exposition() if self._shared is not None else generate_latest(self.registry)

    def observe_answer(self, endpoint: Endpoint, outcome: str, started: float) -> None:
        """Record a POST's time from arrival (``time.monotonic()`` at ``started``) to its answer."""
        self.latency.labels(endpoint=endpoint.value, outcome=outcome).observe(time.monotonic() - started)
