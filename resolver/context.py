"""What every part of a resolver worker shares: settings, database, upstream, publisher, metrics, identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from batchgpt.pricing import DEFAULT_PRICES, PriceTable
from batchgpt.upstream import Upstream
from batchgpt.webhooks.outbox import WebhookOutbox
from resolver.crash import CrashHook
from resolver.metrics import ResolverMetrics
from resolver.publisher import Publisher
from resolver.settings import ResolverSettings

__all__ = ["WorkerContext"]


@dataclass
class WorkerContext:
    """The dependencies of one worker, built by the composition root (:mod:`resolver.app`)."""

    settings: ResolverSettings
    engine: Engine
    upstream: Upstream
    publisher: Publisher
    metrics: ResolverMetrics
    owner: str
    crash: CrashHook = field(default_factory=lambda: CrashHook(None))
    failures: dict[str, int] = field(default_factory=dict)
    """Consecutive upstream errors per batch (drives the backoff)."""
    prices: PriceTable = DEFAULT_PRICES
    """Prices of the tokens (the built-in table with ``BATCHGPT_PRICES_FILE`` over it)."""
    outbox: WebhookOutbox | None = None
    """Where webhook events go when ``BATCHGPT_WEBHOOK_URL`` is set (None: no webhooks out)."""
    upstreams: Mapping[str, Upstream] = field(default_factory=dict)
    """The upstreams of the other providers (``anthropic``), by provider; ``upstream`` is the OpenAI family's."""

    def upstream_for(self, provider: str) -> Upstream:
        """The upstream that runs a batch of ``provider`` (``openai``: :attr:`upstream`)."""
        return self.upstreams.get(provider, self.upstream)
