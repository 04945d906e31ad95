"""CollatorSettings: the batching worker's settings, composed from the shared pieces."""

from __future__ import annotations

from pydantic import Field

from batchgpt_infra.settings import DatabaseSettings, KafkaSettings, LoggingSettings, OpenAISettings, env_var

__all__ = ["CollatorSettings"]

MAX_UPSTREAM_REQUESTS = 50_000
MAX_UPSTREAM_BYTES = 200 * 1000 * 1000


class CollatorSettings(KafkaSettings, DatabaseSettings, OpenAISettings, LoggingSettings):
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
    submit_max_attempts: int = Field(default=8, ge=1, le=1000, validation_alias=env_var("BATCHGPT_SUBMIT_MAX_ATTEMPTS"))
    token_limit_wait_seconds: float = Field(
        default=60.0, ge=0, le=86400, validation_alias=env_var("BATCHGPT_TOKEN_LIMIT_WAIT_S")
    )
    token_limit_max_resubmits: int = Field(
        default=10, ge=0, le=1000, validation_alias=env_var("BATCHGPT_TOKEN_LIMIT_MAX_RESUBMITS")
    )
    metrics_port: int | None = Field(default=None, ge=0, le=65535, validation_alias=env_var("BATCHGPT_METRICS_PORT"))

    @property
    def window_seconds(self) -> float:
        return self.window_ms / 1000.0
