"""ResolverSettings: the batch follower's settings, composed from the shared pieces."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from batchgpt.settings import (
    InboundWebhookSettings,
    OutboundWebhookSettings,
    PricingSettings,
    WorkerSettings,
    env_var,
)
from schemas.status import Provider

__all__ = ["AZURE_POLL_INTERVAL_S", "OPENAI_POLL_INTERVAL_S", "WEBHOOK_POLL_INTERVAL_S", "ResolverSettings"]

OPENAI_POLL_INTERVAL_S = 30.0
AZURE_POLL_INTERVAL_S = 60.0
"""Azure asks batch jobs to be polled no more often than every 60 s."""
WEBHOOK_POLL_INTERVAL_S = 300.0
"""With OpenAI's webhooks on (``OPENAI_WEBHOOK_SECRET``) a batch's end wakes the resolver; polls are the fallback."""


def _default_poll_interval(data: dict[str, Any]) -> float:
    if data.get("openai_webhook_secret") is not None:
        return WEBHOOK_POLL_INTERVAL_S
    return AZURE_POLL_INTERVAL_S if data.get("azure_openai_endpoint") else OPENAI_POLL_INTERVAL_S


class ResolverSettings(WorkerSettings, PricingSettings, InboundWebhookSettings, OutboundWebhookSettings):
    """Everything ``batch-gpt resolver`` reads from the environment."""

    poll_interval_seconds: float = Field(
        default_factory=_default_poll_interval, gt=0, le=3600, validation_alias=env_var("BATCHGPT_POLL_INTERVAL_S")
    )
    """Seconds between polls of an OpenAI-family batch: 30 by default, 60 for Azure OpenAI, 300 with OpenAI's
    webhooks on (``OPENAI_WEBHOOK_SECRET``); ``BATCHGPT_POLL_INTERVAL_S`` wins (for every provider's batches:
    see :meth:`poll_interval_for`)."""
    retry_unfinished: int = Field(default=1, ge=0, le=10, validation_alias=env_var("BATCHGPT_RETRY_UNFINISHED"))
    max_concurrent_batches: int = Field(
        default=16, ge=1, le=1000, validation_alias=env_var("BATCHGPT_RESOLVER_CONCURRENCY")
    )
    lease_seconds: float = Field(default=10.0, gt=0, le=3600, validation_alias=env_var("BATCHGPT_RESOLVER_LEASE_S"))
    """How long a worker's lease on a batch it is stepping lasts without renewal: its heartbeat renews it every
    third of this while the worker lives; a crashed worker's batches are taken over once it lapses."""
    poll_jitter_fraction: float = Field(default=0.1, ge=0, le=0.9, validation_alias=env_var("BATCHGPT_POLL_JITTER"))
    """Each poll interval is stretched or shrunk by up to this fraction, so batches do not poll in lockstep."""
    max_backoff_seconds: float = Field(
        default=300.0, gt=0, le=86400, validation_alias=env_var("BATCHGPT_RESOLVER_MAX_BACKOFF_S")
    )
    """Ceiling of the exponential backoff after upstream errors (a longer Retry-After still wins)."""
    idle_scan_seconds: float = Field(default=1.0, gt=0, le=60, validation_alias=env_var("BATCHGPT_RESOLVER_SCAN_S"))
    """Longest the worker idles before looking at the database again (batch events wake it sooner)."""
    token_limit_wait_seconds: float = Field(
        default=60.0, ge=0, le=86400, validation_alias=env_var("BATCHGPT_TOKEN_LIMIT_WAIT_S")
    )
    """Wait after a batch failed with ``token_limit_exceeded`` before its requests are resubmitted."""
    token_limit_max_resubmits: int = Field(
        default=10, ge=0, le=1000, validation_alias=env_var("BATCHGPT_TOKEN_LIMIT_MAX_RESUBMITS")
    )
    """Most attempts a request gets through ``token_limit_exceeded`` before it is answered 429."""
    isolation_max_resubmits: int = Field(
        default=3, ge=0, le=100, validation_alias=env_var("BATCHGPT_ISOLATION_MAX_RESUBMITS")
    )
    """Most attempts a request gets when its batch fails validation because of *other* lines (each one a new
    batch without the lines blamed); once spent it is answered 502 ``batch_failed``. Bounds the loop of a line
    that keeps landing next to bad lines."""
    fanout_chunk_size: int = Field(default=500, ge=1, le=50_000, validation_alias=env_var("BATCHGPT_FANOUT_CHUNK"))
    """Replies published (and awaited) per chunk before their results are written to the database."""
    fanout_chunks_in_flight: int = Field(
        default=16, ge=1, le=1000, validation_alias=env_var("BATCHGPT_FANOUT_CHUNKS_IN_FLIGHT")
    )
    """Chunks whose replies may be out (produced) while earlier chunks' results are still being stored."""
    deadline_scan_seconds: float = Field(default=1.0, gt=0, le=60, validation_alias=env_var("BATCHGPT_DEADLINE_SCAN_S"))
    """How often the deadline sweep looks for requests whose ``Batchgpt-Deadline`` passed (fallback on)."""
    fallback_max_attempts: int = Field(
        default=4, ge=1, le=20, validation_alias=env_var("BATCHGPT_FALLBACK_MAX_ATTEMPTS")
    )
    """Attempts of one deadline-fallback call on transient upstream errors (429, 5xx, timeouts) before the
    caller gets the error."""
    fallback_concurrency: int = Field(
        default=16, ge=1, le=1000, validation_alias=env_var("BATCHGPT_FALLBACK_CONCURRENCY")
    )
    """Deadline-fallback calls one resolver makes at once."""
    worker_id: str | None = Field(default=None, max_length=100, validation_alias=env_var("BATCHGPT_RESOLVER_ID"))
    """Lease owner name of this worker (default: host, pid and a random suffix)."""
    test_crash_at: str | None = Field(
        default=None, pattern=r"^(mid_fanout:\d+|fallback_claimed)$", validation_alias=env_var("BATCHGPT_TEST_CRASH_AT")
    )
    """Test hook: ``mid_fanout:N`` kills this process (SIGKILL) once N replies were delivered; ``fallback_claimed``
    once it claimed a deadline fallback, before calling upstream."""

    def poll_interval_for(self, provider: str) -> float:
        """Seconds between polls of a batch of ``provider``: Anthropic's Message Batches send no webhooks and
        have no Azure rule, so they keep the plain default unless ``BATCHGPT_POLL_INTERVAL_S`` is set."""
        if provider == Provider.ANTHROPIC.value and "poll_interval_seconds" not in self.model_fields_set:
            return OPENAI_POLL_INTERVAL_S
        return self.poll_interval_seconds

    def min_poll_gap_for(self, provider: str) -> float:
        """The shortest time between two polls of a batch of ``provider``: Azure's 60 s while its default interval
        applies (the jitter then only stretches it), else none (the interval set, jitter included)."""
        azure_default = self.provider == "azure" and "poll_interval_seconds" not in self.model_fields_set
        if azure_default and provider != Provider.ANTHROPIC.value:
            return self.poll_interval_seconds
        return 0.0
