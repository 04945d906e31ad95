"""CollatorSettings: the batching worker's settings, composed from the shared pieces."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from batchgpt.settings import WorkerSettings, env_var
from collator.planning import MAX_EMBEDDING_INPUTS

__all__ = ["CollatorSettings"]

MAX_UPSTREAM_REQUESTS = 50_000
MAX_UPSTREAM_BYTES = 200 * 1000 * 1000


class CollatorSettings(WorkerSettings):
    """Everything ``batch-gpt collator`` reads from the environment."""

    window_ms: int = Field(
        default=5000, ge=10, le=24 * 3600 * 1000, validation_alias=env_var("COLLATE_BATCHES_FOR_DURATION_IN_MS")
    )
    max_batch_requests: int = Field(
        default=MAX_UPSTREAM_REQUESTS,
        ge=1,
        le=MAX_UPSTREAM_REQUESTS,
        validation_alias=env_var("BATCHGPT_MAX_BATCH_REQUESTS"),
    )
    max_batch_bytes: int = Field(
        default=MAX_UPSTREAM_BYTES - 1_000_000,
        ge=1024,
        le=MAX_UPSTREAM_BYTES,
        validation_alias=env_var("BATCHGPT_MAX_BATCH_BYTES"),
    )
    max_batch_embedding_inputs: int = Field(
        default=MAX_EMBEDDING_INPUTS,
        ge=1,
        le=MAX_EMBEDDING_INPUTS,
        validation_alias=env_var("BATCHGPT_MAX_BATCH_EMBEDDING_INPUTS"),
    )
    """Embedding inputs per embeddings batch, summed over its lines (a list input counts its items)."""
    submit_max_attempts: int = Field(default=8, ge=1, le=1000, validation_alias=env_var("BATCHGPT_SUBMIT_MAX_ATTEMPTS"))
    window_max_requests: int = Field(
        default=100_000, ge=1, le=1_000_000, validation_alias=env_var("BATCHGPT_WINDOW_MAX_REQUESTS")
    )
    """A window closes early once it holds this many messages (bounds memory)."""
    lease_seconds: float = Field(default=10.0, gt=0, le=86400, validation_alias=env_var("BATCHGPT_COLLATOR_LEASE_S"))
    """How long a worker's lease on a batch it is submitting lasts without renewal: its heartbeat renews it every
    third of this while the worker lives (and it is checked before every upstream write); a crashed worker's
    reserved batches are taken over within this time plus ``BATCHGPT_COLLATOR_SWEEP_S``."""
    sweep_interval_seconds: float = Field(
        default=3.0, gt=0, le=3600, validation_alias=env_var("BATCHGPT_COLLATOR_SWEEP_S")
    )
    """How often a worker looks for reserved batches whose submitter died (their lease lapsed)."""
    submit_backoff_seconds: float = Field(
        default=1.0, ge=0, le=600, validation_alias=env_var("BATCHGPT_SUBMIT_BACKOFF_S")
    )
    """First retry delay after an upstream fault (doubled each attempt, with jitter; see
    :mod:`batchgpt.upstream.backoff`)."""
    submit_backoff_max_seconds: float = Field(
        default=60.0, ge=0, le=3600, validation_alias=env_var("BATCHGPT_SUBMIT_BACKOFF_MAX_S")
    )
    """Longest retry delay of the exponential backoff (a longer ``Retry-After`` from the server still wins)."""
    submit_concurrency: int = Field(default=4, ge=1, le=64, validation_alias=env_var("BATCHGPT_SUBMIT_CONCURRENCY"))
    """How many batches one worker uploads and creates at the same time."""
    upstream_lookup_pages: int = Field(
        default=10, ge=1, le=1000, validation_alias=env_var("BATCHGPT_UPSTREAM_LOOKUP_PAGES")
    )
    """Most pages of ``GET /batches`` (100 each, newest first) searched for a batch already created."""
    commit_interval_seconds: float = Field(
        default=1.0, gt=0, le=60, validation_alias=env_var("BATCHGPT_COLLATOR_COMMIT_INTERVAL_S")
    )
    """How often acknowledged offsets are committed to Kafka."""
    session_timeout_seconds: float = Field(
        default=30.0, ge=6, le=90, validation_alias=env_var("BATCHGPT_COLLATOR_SESSION_TIMEOUT_S")
    )
    """Kafka group session timeout: how soon a crashed worker's partitions are handed to the others (at most 90 s,
    faust's request timeout; a restarted static member takes its own back at once)."""
    static_membership: bool = Field(default=True, validation_alias=env_var("BATCHGPT_COLLATOR_STATIC_MEMBERSHIP"))
    """Join the consumer group as a static member (:mod:`collator.membership`): a worker restarted after a crash
    takes its partitions back at once instead of after ``BATCHGPT_COLLATOR_SESSION_TIMEOUT_S``."""
    instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,249}$",
        validation_alias=env_var("BATCHGPT_COLLATOR_INSTANCE_ID"),
    )
    """This worker's group instance id (unique among live workers, stable across its restarts, e.g. a pod name);
    unset: the host name and the first slot no live worker of this host holds."""
    test_crash_at: Literal["after_consume", "after_upload", "after_create", "after_db_write"] | None = Field(
        default=None, validation_alias=env_var("BATCHGPT_TEST_CRASH_AT")
    )
    """Test hook: SIGKILL this process when it reaches this point (never set in production)."""
    test_crash_count: int = Field(default=1, ge=1, le=1_000_000, validation_alias=env_var("BATCHGPT_TEST_CRASH_COUNT"))
    """Test hook: crash the n-th time the point is reached."""

    @property
    def window_seconds(self) -> float:
        return self.window_ms / 1000.0
