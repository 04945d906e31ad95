"""The resolver's Prometheus metrics, on a registry per worker instance (two workers can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from batchgpt.webhooks.metrics import WebhookMetrics

__all__ = ["ResolverMetrics"]


class ResolverMetrics:
    """Open batches by state (resolved ones by terminal state), status changes, lines answered, fan-out
    latency, tokens and estimated saving; and the webhook deliveries of the worker it runs (``webhooks``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.batches = Gauge(
            "batchgpt_resolver_open_batches", "Batches not yet resolved, by upstream status.", ["status"], registry=r
        )
        self.status_changes = Counter(
            "batchgpt_resolver_status_changes", "Upstream status changes seen, by new status.", ["status"], registry=r
        )
        self.polls = Counter("batchgpt_resolver_polls", "Upstream batch polls.", registry=r)
        self.webhooks = WebhookMetrics(r)
        self.upstream_errors = Counter(
            "batchgpt_resolver_upstream_errors", "Failed upstream calls.", ["operation"], registry=r
        )
        self.lines = Counter(
            "batchgpt_resolver_lines",
            "Batch lines handled, by outcome (completed, failed, resubmitted, late: a deadline fallback answered).",
            ["outcome"],
            registry=r,
        )
        self.batches_resolved = Counter(
            "batchgpt_resolver_batches_resolved", "Batches fully answered, by terminal status.", ["status"], registry=r
        )
        self.fanout_seconds = Histogram(
            "batchgpt_resolver_fanout_seconds",
            "Time from the upstream terminal state to the last reply published.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.tokens = Counter(
            "batchgpt_resolver_tokens", "Tokens used by resolved batches.", ["model", "kind"], registry=r
        )
        self.tenant_tokens = Counter(
            "batchgpt_resolver_tenant_tokens",
            "Tokens used by resolved batches, per model and tenant.",
            ["model", "tenant", "kind"],
            registry=r,
        )
        self.cost_usd = Counter(
            "batchgpt_resolver_batch_cost_usd",
            "Estimated cost of resolved batches at batch prices (USD), per model and tenant.",
            ["model", "tenant"],
            registry=r,
        )
        self.tenant_saving_usd = Counter(
            "batchgpt_resolver_tenant_saving_usd",
            "Estimated saving against synchronous prices of resolved batches (USD), per model and tenant.",
            ["model", "tenant"],
            registry=r,
        )
        self.saving_usd = Counter(
            "batchgpt_resolver_estimated_saving_usd",
            "Estimated saving against synchronous prices of resolved batches (USD).",
            ["model"],
            registry=r,
        )
        self.fallbacks = Counter(
            "batchgpt_resolver_deadline_fallbacks",
            "Requests answered by the deadline fallback, by kind (sync, flex) and outcome (completed, failed).",
            ["kind", "outcome"],
            registry=r,
        )
        self.fallback_claims = Counter(
            "batchgpt_resolver_deadline_fallback_claims",
            "Deadline fallbacks claimed (a claim taken over after its owner's lease lapsed counts again).",
            registry=r,
        )
