"""IngressSettings: the HTTP front's settings, composed from the shared pieces."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from batchgpt.settings import (
    DatabaseSettings,
    DeadlineSettings,
    InboundWebhookSettings,
    KafkaSettings,
    LoggingSettings,
    PricingSettings,
    UpstreamSettings,
    env_var,
)
from ingress.admission.cache_policy import CacheMode
from ingress.process.worker_count import AUTO, worker_count

__all__ = ["IngressSettings"]


class IngressSettings(
    KafkaSettings,
    DatabaseSettings,
    LoggingSettings,
    UpstreamSettings,
    PricingSettings,
    DeadlineSettings,
    InboundWebhookSettings,
):
    """Everything ``batch-gpt ingress`` reads from the environment (the upstream only for ``GET /v1/models``)."""

    host: str = Field(default="127.0.0.1", validation_alias=env_var("BATCHGPT_HOST"))
    port: int = Field(default=8000, ge=0, le=65535, validation_alias=env_var("BATCHGPT_PORT"))
    max_wait_seconds: float = Field(default=600.0, ge=0, le=86400, validation_alias=env_var("BATCHGPT_MAX_WAIT_S"))
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024, validation_alias=env_var("BATCHGPT_MAX_BODY_BYTES")
    )
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), validation_alias=env_var("BATCHGPT_API_KEYS")
    )
    admin_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), validation_alias=env_var("BATCHGPT_ADMIN_KEYS")
    )
    """Keys whose holders see every tenant on the dashboard (``GET /dashboard``, ``/v1/dashboard/...``) only."""
    cache: CacheMode = Field(default="deterministic", validation_alias=env_var("BATCHGPT_CACHE"))
    """``off``, ``deterministic`` (only answers that do not depend on sampling) or ``on``."""
    result_ttl_seconds: float = Field(default=7 * 86400, gt=0, validation_alias=env_var("BATCHGPT_RESULT_TTL_S"))
    max_pending_per_key: int = Field(default=100_000, ge=1, validation_alias=env_var("BATCHGPT_MAX_PENDING_PER_KEY"))
    reply_partition: int | None = Field(default=None, ge=0, validation_alias=env_var("BATCHGPT_REPLY_PARTITION"))
    result_recheck_seconds: float = Field(
        default=3.0, gt=0, le=300, validation_alias=env_var("BATCHGPT_RESULT_RECHECK_S")
    )
    """How often held calls are checked against the ``results`` table (a reply this replica never saw)."""
    purge_interval_seconds: float = Field(
        default=300.0, gt=0, le=86400, validation_alias=env_var("BATCHGPT_PURGE_INTERVAL_S")
    )
    """How often results older than ``result_ttl_seconds`` are deleted."""
    produce_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, validation_alias=env_var("BATCHGPT_PRODUCE_TIMEOUT_S")
    )
    """How long a request may wait for Kafka's acknowledgement before the caller gets 503."""
    workers: int = Field(
        default=AUTO, validate_default=True, ge=1, le=64, validation_alias=env_var("BATCHGPT_INGRESS_WORKERS")
    )
    """Worker processes on the port: ``auto`` (the default) is one per usable core, at most 8."""
    models_ttl_seconds: float = Field(default=300.0, ge=0, le=86400, validation_alias=env_var("BATCHGPT_MODELS_TTL_S"))
    """How long the upstream's model list is served from memory before ``GET /v1/models`` asks again."""
    retry_after_seconds: int = Field(default=5, ge=1, le=120, validation_alias=env_var("BATCHGPT_RETRY_AFTER_S"))
    admission_group_max: int = Field(
        default=500, ge=1, le=10_000, validation_alias=env_var("BATCHGPT_ADMISSION_GROUP_MAX")
    )
    """At most this many concurrent submissions are looked up and recorded in one database transaction."""
    """The ``Retry-After`` sent with 202, 429 and 503 answers."""

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("workers", mode="before")
    @classmethod
    def _worker_count(cls, value: object) -> object:
        return worker_count(value)

    @field_validator("cache", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
