"""The simulator's one settings class: every knob, validated once, with units in the names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from batchgpt.simulator.faults import FaultSpec
from batchgpt.webhooks.signing import check_secret

__all__ = ["DEFAULT_ANTHROPIC_MODELS", "DEFAULT_MODELS", "LIVE_FIELDS", "SimulatorSettings"]

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-3.5-turbo",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
    "gpt-3.5-turbo-instruct",
    "davinci-002",
    "babbage-002",
    "omni-moderation-latest",
    "omni-moderation-2024-09-26",
    "text-moderation-latest",
    "text-moderation-stable",
)

DEFAULT_ANTHROPIC_MODELS: tuple[str, ...] = (
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-opus-4-5",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
)

# Fields that ``POST /_sim/config`` may change while the simulator runs. Batches keep the
# timing they were created with; the new values apply to batches created afterwards.
LIVE_FIELDS: frozenset[str] = frozenset(
    {
        "validating_seconds",
        "in_progress_seconds",
        "finalizing_seconds",
        "cancelling_seconds",
        "completion_window_seconds",
        "slow_line_seconds",
        "max_lines",
        "max_bytes",
        "max_embedding_inputs",
        "known_models",
        "accept_any_model",
        "shuffle_output",
        "missing_input_file",
        "download_delay_seconds",
        "sync_delay_seconds",
        "enqueued_token_limit",
        "empty_error_file",
        "cancelled_unrun_lines",
        "expired_count_as_failed",
        "upload_check_first_line",
        "file_quota",
        "anthropic_models",
        "message_batch_max_requests",
        "message_batch_max_bytes",
    }
)


class SimulatorSettings(BaseModel):
    """Everything the simulator can be told at start (flags ``--x-y`` or env ``BATCHGPT_SIM_X_Y``).

    Built once by ``simulator.cli`` (or directly in tests) and passed to ``create_app``; it never
    reads the environment by itself.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    dialect: Literal["openai", "azure"] = "openai"
    """``azure``: Azure OpenAI's v1 API (routes under ``/openai/v1``, ``api-key`` header, a quota of input files
    without expiry, no 24 h expiry); see ``simulator.azure``."""
    file_quota: int = Field(default=500, ge=1)
    """Azure dialect: most ``purpose=batch`` files without an expiry held at once (uploads fail beyond it)."""
    host: str = "127.0.0.1"
    """Interface uvicorn binds to."""
    port: int = Field(default=8081, ge=0, le=65535)
    """TCP port uvicorn binds to."""
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    """uvicorn log level."""

    validating_seconds: float = Field(default=1.0, ge=0)
    """How long a new batch stays ``validating``."""
    in_progress_seconds: float = Field(default=5.0, ge=0)
    """Time to process all lines of a batch (lines finish evenly spread over it)."""
    finalizing_seconds: float = Field(default=1.0, ge=0)
    """How long a batch stays ``finalizing`` before ``completed``."""
    cancelling_seconds: float = Field(default=2.0, ge=0)
    """How long a batch stays ``cancelling`` before ``cancelled``."""
    completion_window_seconds: float = Field(default=86400.0, gt=0)
    """Real length of the ``24h`` window: a batch not finished by then is ``expired``."""
    slow_line_seconds: float = Field(default=3600.0, ge=0)
    """Processing time of a line whose last user message carries ``[sim:slow]``."""

    max_lines: int = Field(default=50_000, ge=1)
    """Most lines (requests) one batch input file may hold (``too_many_tasks`` above it)."""
    max_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    """Largest batch input file accepted at upload."""
    max_embedding_inputs: int = Field(default=50_000, ge=1)
    """Most embedding inputs one ``/v1/embeddings`` batch may hold in total (``too_many_tasks`` above it)."""
    known_models: tuple[str, ...] = DEFAULT_MODELS
    """Models the Batch API and the synchronous endpoints accept (comma-separated in env/flags)."""
    anthropic_models: tuple[str, ...] = DEFAULT_ANTHROPIC_MODELS
    """Models the Anthropic routes (``/v1/messages``, Message Batches) accept (comma-separated in env/flags)."""
    message_batch_max_requests: int = Field(default=100_000, ge=1)
    """Most requests one Message Batch may hold (a 400 above it)."""
    message_batch_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    """Largest Message Batch create body accepted (a 413 above it)."""
    accept_any_model: bool = False
    """Accept every model name, known or not."""
    enqueued_token_limit: int | None = Field(default=None, ge=1)
    """Per-model budget of prompt tokens in running batches; a batch over it fails (token_limit_exceeded)."""

    shuffle_output: bool = True
    """Write output and error lines in a shuffled order, as the real service may."""
    seed: int = 0
    """Seed for the shuffling (mixed with each batch id)."""
    require_auth: bool = True
    """Demand ``Authorization: Bearer <key>`` on ``/v1`` routes (any non-empty key unless ``api_keys``)."""
    api_keys: tuple[str, ...] = ()
    """If non-empty, only these keys are accepted (401 ``invalid_api_key`` otherwise)."""
    missing_input_file: Literal["failed", "404"] = "failed"
    """Unknown ``input_file_id``: the batch fails validation (``failed``, default) or create answers 404."""
    empty_error_file: bool = False
    """Create an (empty) error file even when no line failed, as Azure does; default null like OpenAI."""
    cancelled_unrun_lines: Literal["omit", "error_file"] = "omit"
    """After a cancel, lines that never ran are left out (default) or written as ``batch_cancelled``."""
    expired_count_as_failed: bool = True
    """Count ``batch_expired`` lines in ``request_counts.failed``."""
    upload_check_first_line: bool = False
    """Reject at upload (400) a batch file that is empty or whose first line is not JSON."""

    state_dir: Path | None = None
    """If set, files, batches and submission counts are kept in this directory across restarts."""
    download_delay_seconds: float = Field(default=0.0, ge=0)
    """Delay before every ``GET /v1/files/{id}/content`` answer."""
    sync_delay_seconds: float = Field(default=0.0, ge=0)
    """Delay before every synchronous answer (chat, responses, completions, embeddings, moderations)."""
    faults: tuple[FaultSpec, ...] = ()
    """Faults armed at start (a JSON list in env/flags); see ``simulator.faults``."""

    webhook_url: str | None = None
    """If set (with ``webhook_secret``), a signed ``batch.*`` event is POSTed here when each batch ends, as OpenAI
    does (e.g. batch-gpt's ``http://127.0.0.1:8000/webhooks/openai``)."""
    webhook_secret: str | None = None
    """The Standard Webhooks secret (``whsec_`` + base64) the events are signed with."""
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    """Tries per event while the receiver fails (no answer, or not 2xx)."""
    webhook_backoff_seconds: float = Field(default=0.5, gt=0)
    """First wait between tries (doubling, jittered, at most 30 s)."""

    @field_validator("known_models", "anthropic_models", "api_keys", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _usable_secret(cls, value: str | None) -> str | None:
        return None if value is None else check_secret(value)

    @model_validator(mode="after")
    def _url_with_secret(self) -> SimulatorSettings:
        if (self.webhook_url is None) != (self.webhook_secret is None):
            raise ValueError("webhook_url and webhook_secret go together: set both or neither")
        return self

    @field_validator("faults", mode="before")
    @classmethod
    def _parse_faults(cls, value: Any) -> Any:
        if isinstance(value, str):
            parsed = json.loads(value) if value.strip() else []
            return [parsed] if isinstance(parsed, dict) else parsed
        return value
