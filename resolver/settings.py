"""ResolverSettings: the batch follower's settings, composed from the shared pieces."""

from __future__ import annotations

from pydantic import Field

from batchgpt_infra.settings import DatabaseSettings, KafkaSettings, LoggingSettings, OpenAISettings, env_var

__all__ = ["ResolverSettings"]


class ResolverSettings(KafkaSettings, DatabaseSettings, OpenAISettings, LoggingSettings):
    """Everything ``batch-gpt resolver`` reads from the environment."""

    poll_interval_seconds: float = Field(
        default=30.0, gt=0, le=3600, validation_alias=env_var("BATCHGPT_POLL_INTERVAL_S")
    )
    retry_unfinished: int = Field(default=1, ge=0, le=10, validation_alias=env_var("BATCHGPT_RETRY_UNFINISHED"))
    max_concurrent_batches: int = Field(
        default=16, ge=1, le=1000, validation_alias=env_var("BATCHGPT_RESOLVER_CONCURRENCY")
    )
    lease_seconds: float = Field(default=120.0, gt=0, le=3600, validation_alias=env_var("BATCHGPT_RESOLVER_LEASE_S"))
    metrics_port: int | None = Field(default=None, ge=0, le=65535, validation_alias=env_var("BATCHGPT_METRICS_PORT"))
