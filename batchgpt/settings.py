"""Settings pieces shared by the services, read once from the environment and validated.

Each service composes its own ``Settings`` class from these pieces (``ingress/settings.py`` …)
and builds it once in its ``__main__`` with :func:`load_settings`, which turns a validation
failure into :class:`SettingsError` naming the environment variable.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from batchgpt.pricing import DEFAULT_PRICES, PriceTable, load_price_table
from batchgpt.webhooks.signing import check_secret
from schemas.topics import DEFAULT_TOPIC_PREFIX, TopicNames

__all__ = [
    "AnthropicSettings",
    "DatabaseSettings",
    "DeadlineFallback",
    "DeadlineSettings",
    "InboundWebhookSettings",
    "KafkaSettings",
    "LoggingSettings",
    "MetricsSettings",
    "OpenAISettings",
    "PricingSettings",
    "OutboundWebhookSettings",
    "Provider",
    "SettingsError",
    "UpstreamSettings",
    "WorkerSettings",
    "env_names",
    "env_var",
    "load_settings",
    "settings_or_exit",
]

S = TypeVar("S", bound=BaseSettings)


FILE_EXPIRY_MIN_SECONDS = 3600
FILE_EXPIRY_MAX_SECONDS = 30 * 86400
"""The bounds the Files and Batches APIs accept for ``expires_after`` / ``output_expires_after`` seconds."""
AZURE_FILE_EXPIRY_MIN_SECONDS = 14 * 86400
"""Azure OpenAI accepts file expiries of 14 to 30 days only."""


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable(s)."""


_ONLY_GIVEN_VALUES: ContextVar[bool] = ContextVar("batchgpt_only_given_values", default=False)
"""Set while :func:`load_settings` builds from an explicit mapping: the process environment is not read."""


class _Base(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=True, populate_by_name=True, env_ignore_empty=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _ONLY_GIVEN_VALUES.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings, file_secret_settings)


def env_var(name: str) -> Any:
    """A field bound to exactly one environment variable (also accepted as a keyword argument)."""
    return AliasChoices(name)


class KafkaSettings(_Base):
    """Broker address and topic names."""

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias=env_var("KAFKA_BOOTSTRAP_SERVERS"), min_length=1
    )
    topic_prefix: str = Field(
        default=DEFAULT_TOPIC_PREFIX, validation_alias=env_var("BATCHGPT_TOPIC_PREFIX"), pattern=r"^[A-Za-z0-9._\-]*$"
    )
    topic_partitions: int = Field(default=4, ge=1, le=1000, validation_alias=env_var("BATCHGPT_TOPIC_PARTITIONS"))
    topic_replication_factor: int | None = Field(
        default=None, ge=1, le=32, validation_alias=env_var("BATCHGPT_TOPIC_REPLICATION_FACTOR")
    )
    """Replicas of each topic batch-gpt creates (unset: the broker's ``default.replication.factor``)."""
    topic_min_insync_replicas: int | None = Field(
        default=None, ge=1, le=32, validation_alias=env_var("BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS")
    )
    """``min.insync.replicas`` of each topic batch-gpt creates: how many replicas must have a message before an
    acks=all producer is answered (unset: the broker's default)."""
    kafka_linger_ms: int = Field(default=20, ge=0, le=1000, validation_alias=env_var("BATCHGPT_KAFKA_LINGER_MS"))
    """How long a producer waits to fill a batch of messages before sending it (``linger.ms``): longer sends fewer,
    larger produce requests (less CPU in the services and the broker per message) at that much added latency."""

    @model_validator(mode="after")
    def _in_sync_within_replicas(self) -> Self:
        replicas, in_sync = self.topic_replication_factor, self.topic_min_insync_replicas
        if replicas is not None and in_sync is not None and in_sync > replicas:
            raise ValueError(
                f"BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS ({in_sync}) exceeds BATCHGPT_TOPIC_REPLICATION_FACTOR "
                f"({replicas}): no acks=all write could ever succeed"
            )
        return self

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)


class DatabaseSettings(_Base):
    """Where batch metadata lives: SQLite by default, PostgreSQL through ``postgresql+psycopg://``."""

    database_url: str = Field(
        default="sqlite:///batchgpt.sqlite3", validation_alias=env_var("BATCHGPT_DATABASE_URL"), min_length=1
    )

    @field_validator("database_url")
    @classmethod
    def _supported_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "sqlite+pysqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url


Provider = Literal["openai", "azure"]
"""The OpenAI-family upstream: OpenAI (or any OpenAI-compatible Batch API), or Azure OpenAI."""


class OpenAISettings(_Base):
    """The upstream OpenAI-family Files + Batches API: OpenAI (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) or, when
    ``AZURE_OPENAI_ENDPOINT`` and ``AZURE_OPENAI_API_KEY`` are set instead, Azure OpenAI's v1 API."""

    openai_api_key: SecretStr | None = Field(default=None, validation_alias=env_var("OPENAI_API_KEY"))
    openai_base_url: str = Field(default="https://api.openai.com/v1", validation_alias=env_var("OPENAI_BASE_URL"))
    azure_openai_endpoint: str | None = Field(default=None, validation_alias=env_var("AZURE_OPENAI_ENDPOINT"))
    """The Azure OpenAI resource, e.g. ``https://my-resource.openai.azure.com`` (files and batches under
    ``/openai/v1``)."""
    azure_openai_api_key: SecretStr | None = Field(default=None, validation_alias=env_var("AZURE_OPENAI_API_KEY"))
    upstream_timeout_seconds: float = Field(
        default=120.0, gt=0, le=3600, validation_alias=env_var("BATCHGPT_UPSTREAM_TIMEOUT_S")
    )
    input_file_expires_seconds: int = Field(
        default=14 * 86400,
        ge=FILE_EXPIRY_MIN_SECONDS,
        le=FILE_EXPIRY_MAX_SECONDS,
        validation_alias=env_var("BATCHGPT_INPUT_FILE_EXPIRES_S"),
    )
    """``expires_after`` of each uploaded batch input file: the provider deletes it this long after the upload
    (14 days: past the 24 h completion window, and what Azure asks for its larger file quota)."""
    output_file_expires_seconds: int = Field(
        default=14 * 86400,
        ge=FILE_EXPIRY_MIN_SECONDS,
        le=FILE_EXPIRY_MAX_SECONDS,
        validation_alias=env_var("BATCHGPT_OUTPUT_FILE_EXPIRES_S"),
    )
    """``output_expires_after`` of each batch: its output and error files are deleted this long after they are
    written (the resolver reads them as soon as the batch ends and stores every result; 14 days, the least
    Azure accepts)."""

    @field_validator("openai_base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.openai.com/v1")
        return url.rstrip("/")

    @field_validator("azure_openai_endpoint")
    @classmethod
    def _azure_endpoint(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://my-resource.openai.azure.com")
        return url.rstrip("/").removesuffix("/openai/v1").removesuffix("/openai")

    @model_validator(mode="after")
    def _one_provider(self) -> Self:
        endpoint, key = self.azure_openai_endpoint is not None, self.azure_openai_api_key is not None
        if endpoint != key:
            given, missing = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")[:: 1 if endpoint else -1]
            raise ValueError(f"{given} is set but {missing} is not: Azure OpenAI needs both")
        if endpoint and ({"openai_api_key", "openai_base_url"} & self.model_fields_set):
            raise ValueError(
                "both OpenAI (OPENAI_API_KEY / OPENAI_BASE_URL) and Azure OpenAI (AZURE_OPENAI_ENDPOINT / "
                "AZURE_OPENAI_API_KEY) are configured: set one provider's variables only"
            )
        if endpoint:
            for field, variable in (
                ("input_file_expires_seconds", "BATCHGPT_INPUT_FILE_EXPIRES_S"),
                ("output_file_expires_seconds", "BATCHGPT_OUTPUT_FILE_EXPIRES_S"),
            ):
                if getattr(self, field) < AZURE_FILE_EXPIRY_MIN_SECONDS:
                    raise ValueError(
                        f"{variable} must be at least {AZURE_FILE_EXPIRY_MIN_SECONDS} (14 days) with Azure OpenAI, "
                        "which refuses shorter file expiries"
                    )
        return self

    @property
    def provider(self) -> Provider:
        """Which upstream the variables select (Azure OpenAI when its endpoint and key are set)."""
        return "azure" if self.azure_openai_endpoint is not None else "openai"

    @property
    def upstream_key(self) -> SecretStr | None:
        """The key of the selected upstream (never logged or returned)."""
        return self.azure_openai_api_key if self.provider == "azure" else self.openai_api_key


class AnthropicSettings(_Base):
    """Anthropic's Message Batches API, served beside the OpenAI-family upstream when ``ANTHROPIC_API_KEY`` is set."""

    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias=env_var("ANTHROPIC_API_KEY"))
    anthropic_base_url: str = Field(default="https://api.anthropic.com", validation_alias=env_var("ANTHROPIC_BASE_URL"))
    """The API root the ``anthropic`` SDK takes as ``base_url`` (it adds ``/v1/...`` itself)."""

    @field_validator("anthropic_base_url")
    @classmethod
    def _anthropic_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.anthropic.com")
        return url.rstrip("/").removesuffix("/v1")


class UpstreamSettings(OpenAISettings, AnthropicSettings):
    """Every upstream provider's settings: the OpenAI family (OpenAI or Azure OpenAI) and Anthropic, which serve
    at the same time (``batchgpt.upstream.make_upstreams`` builds one upstream per configured provider)."""


class LoggingSettings(_Base):
    """Log level and format (JSON lines by default)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=env_var("BATCHGPT_LOG_LEVEL")
    )
    log_format: Literal["json", "text"] = Field(default="json", validation_alias=env_var("BATCHGPT_LOG_FORMAT"))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class MetricsSettings(_Base):
    """The port a worker process serves its Prometheus metrics on (the ingress serves ``/metrics`` itself)."""

    metrics_port: int | None = Field(default=None, ge=0, le=65535, validation_alias=env_var("BATCHGPT_METRICS_PORT"))


class PricingSettings(_Base):
    """The price file of a deployment (models the built-in table lacks, negotiated rates): see ``batchgpt.pricing``."""

    prices_file: Path | None = Field(default=None, validation_alias=env_var("BATCHGPT_PRICES_FILE"))

    @field_validator("prices_file")
    @classmethod
    def _readable_prices(cls, path: Path | None) -> Path | None:
        if path is not None:
            load_price_table(path)  # a ValueError names what is wrong with it
        return path

    def price_table(self) -> PriceTable:
        """The built-in prices with the price file's over them (read once, when a service is built)."""
        return load_price_table(self.prices_file) if self.prices_file is not None else DEFAULT_PRICES


DeadlineFallback = Literal["none", "sync", "flex"]
"""How a call is answered once its ``Batchgpt-Deadline`` passed before its batch answered it."""


class DeadlineSettings(_Base):
    """``BATCHGPT_DEADLINE_FALLBACK``: ``none`` (keep waiting), ``sync`` (full price) or ``flex`` (batch price).

    The ingress records a call's deadline only when a fallback is on; the collator leaves such a request out of
    its windows once the deadline passed; the resolver answers it through the fallback.
    """

    deadline_fallback: DeadlineFallback = Field(default="none", validation_alias=env_var("BATCHGPT_DEADLINE_FALLBACK"))

    @field_validator("deadline_fallback", mode="before")
    @classmethod
    def _lower_fallback(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def deadlines_on(self) -> bool:
        """Whether ``Batchgpt-Deadline`` has any effect."""
        return self.deadline_fallback != "none"


def _usable_secret(_cls: type[BaseSettings], secret: SecretStr | None) -> SecretStr | None:
    """The validator of a webhook secret: None, or a usable ``whsec_…`` secret."""
    if secret is not None:
        check_secret(secret.get_secret_value())
    return secret


class InboundWebhookSettings(_Base):
    """OpenAI's webhooks in: the endpoint's signing secret (``whsec_…``, from the provider's webhook settings).
    Set, it turns on ``POST /webhooks/openai`` and makes the resolver poll less often (webhooks wake it)."""

    openai_webhook_secret: SecretStr | None = Field(default=None, validation_alias=env_var("OPENAI_WEBHOOK_SECRET"))

    _usable_openai_webhook_secret = field_validator("openai_webhook_secret")(classmethod(_usable_secret))


class OutboundWebhookSettings(_Base):
    """batch-gpt's webhooks out: where signed events go (``BATCHGPT_WEBHOOK_URL``, with ``BATCHGPT_WEBHOOK_SECRET``),
    and how their delivery is retried."""

    webhook_url: str | None = Field(default=None, validation_alias=env_var("BATCHGPT_WEBHOOK_URL"))
    webhook_secret: SecretStr | None = Field(default=None, validation_alias=env_var("BATCHGPT_WEBHOOK_SECRET"))
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100, validation_alias=env_var("BATCHGPT_WEBHOOK_MAX_ATTEMPTS")
    )
    """Tries per event before it is dead-lettered."""
    webhook_backoff_seconds: float = Field(
        default=1.0, gt=0, le=3600, validation_alias=env_var("BATCHGPT_WEBHOOK_BACKOFF_S")
    )
    """First wait between tries (doubling each time, jittered, up to ``BATCHGPT_WEBHOOK_BACKOFF_MAX_S``)."""
    webhook_backoff_max_seconds: float = Field(
        default=60.0, gt=0, le=86400, validation_alias=env_var("BATCHGPT_WEBHOOK_BACKOFF_MAX_S")
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, validation_alias=env_var("BATCHGPT_WEBHOOK_TIMEOUT_S")
    )
    """How long one POST may take before it counts as failed."""
    webhook_concurrency: int = Field(
        default=16, ge=1, le=1000, validation_alias=env_var("BATCHGPT_WEBHOOK_CONCURRENCY")
    )
    """Events delivered at once."""

    @field_validator("webhook_url")
    @classmethod
    def _webhook_http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return url

    _usable_webhook_secret = field_validator("webhook_secret")(classmethod(_usable_secret))

    @model_validator(mode="after")
    def _url_with_secret(self) -> Self:
        if (self.webhook_url is None) != (self.webhook_secret is None):
            raise ValueError("BATCHGPT_WEBHOOK_URL and BATCHGPT_WEBHOOK_SECRET go together: set both or neither")
        return self

    @property
    def webhooks_out(self) -> bool:
        """Whether signed events are sent (a URL and its secret are set)."""
        return self.webhook_url is not None


class WorkerSettings(
    KafkaSettings, DatabaseSettings, UpstreamSettings, LoggingSettings, MetricsSettings, DeadlineSettings
):
    """The pieces every service that works with the provider takes (collator, resolver): the broker, the
    database, the upstream, logging and a metrics port. :func:`batchgpt.boot.run_worker` starts such a service."""


def env_names(cls: type[BaseSettings]) -> dict[str, str]:
    """Field name -> environment variable, for every field of a settings class."""
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[field_name] = str(alias.choices[0])
        elif isinstance(alias, str):
            names[field_name] = alias
    return names


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None, **overrides: Any) -> S:
    """Build ``cls`` from the environment (or ``environ``) plus keyword overrides, once.

    :raises SettingsError: naming each offending environment variable.
    """
    try:
        if environ is None:
            return cls(**overrides)
        names = set(env_names(cls).values())
        values: dict[str, Any] = {k: v for k, v in environ.items() if k in names and v != ""}
        values.update(overrides)
        token = _ONLY_GIVEN_VALUES.set(True)
        try:
            return cls(**values)
        finally:
            _ONLY_GIVEN_VALUES.reset(token)
    except ValidationError as exc:
        mapping = env_names(cls)
        problems = []
        for err in exc.errors():
            if not err["loc"]:  # a check across variables: its message names them, the input is not shown
                problems.append(str(err["msg"]).removeprefix("Value error, "))
                continue
            loc = str(err["loc"][0])
            var = mapping.get(loc, loc)
            shown = "<redacted>" if "KEY" in var or "SECRET" in var else repr(err.get("input"))
            problems.append(f"{var}: {err['msg']} (got {shown})")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def settings_or_exit(cls: type[S], service: str, **overrides: Any) -> S:
    """Load settings at a process's start; on a bad value print the variable's name and exit with status 2."""
    try:
        return load_settings(cls, **overrides)
    except SettingsError as exc:
        sys.stderr.write(f"batch-gpt {service}: {exc}\n")
        raise SystemExit(2) from None
