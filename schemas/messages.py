"""The messages on batch-gpt's topics, as frozen pydantic models with a version field ``v``.

Every model ignores fields it does not know, so producers may add fields without breaking
consumers; ``v`` is bumped only for an incompatible change.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.status import BatchEventKind, BatchStatus, Endpoint, ReplyStatus

__all__ = [
    "SCHEMA_VERSION",
    "BatchEvent",
    "DeadLetter",
    "ReplyMessage",
    "ReplyTo",
    "RequestCounts",
    "RequestMessage",
    "TokenUsage",
    "WEBHOOK_EVENT_TYPES",
    "WebhookEvent",
    "body_model",
]

SCHEMA_VERSION = 1


def _now() -> float:
    return time.time()


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False)

    v: int = Field(default=SCHEMA_VERSION, description="Schema version of this message.")


class ReplyTo(BaseModel):
    """Where the resolver publishes the reply: a topic, optionally pinned to one partition."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: str = Field(min_length=1)
    partition: int | None = Field(default=None, ge=0)


class RequestMessage(_Message):
    """A request on ``batchgpt.requests`` (key: the request id).

    Direct producers may send only ``request_id`` and ``body`` (and ``endpoint``).
    """

    request_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    endpoint: Endpoint = Endpoint.CHAT_COMPLETIONS
    body: dict[str, Any]
    tenant: str = Field(default="default", min_length=1, max_length=200)
    reply_to: ReplyTo | None = None
    received_at: float = Field(default_factory=_now, description="Unix seconds when batch-gpt accepted it.")
    attempt: int = Field(default=0, ge=0, description="0 first; +1 for each resubmission of an unfinished line.")
    notify: bool = Field(
        default=False,
        description="The caller asked for an asynchronous answer (Prefer: respond-async or wait=N): with "
        "BATCHGPT_WEBHOOK_URL set, its end is announced by a request.completed / request.failed webhook.",
    )

    @model_validator(mode="after")
    def _body_names_a_model(self) -> RequestMessage:
        model = self.body.get("model")
        if "model" not in self.body and not self.endpoint.model_required:
            return self
        if not isinstance(model, str) or not model:
            raise ValueError("body.model must be a non-empty string")
        return self

    @property
    def model(self) -> str:
        """The batch's model: ``body.model``, or ``""`` when the endpoint's default model is meant (omitted)."""
        return body_model(self.body)


def body_model(body: dict[str, Any]) -> str:
    """The model a request body names; ``""`` when it names none (the upstream's default, e.g. moderations).

    Requests without a model are batched together, apart from those naming one: their lines go upstream
    unchanged (nothing is filled in), so each batch stays one model as the Batch API requires, and a
    provider that wants a model on every line (OpenAI's batch validation does) refuses only them.
    """
    model = body.get("model")
    return model if isinstance(model, str) else ""


class ReplyMessage(_Message):
    """A reply on ``batchgpt.replies`` (key: the request id): the completion or OpenAI's error envelope."""

    request_id: str = Field(min_length=1)
    status: ReplyStatus
    status_code: int = Field(ge=100, le=599)
    body: dict[str, Any]
    batch_id: str | None = None
    upstream_batch_id: str | None = None
    completed_at: float = Field(default_factory=_now)
    tenant: str | None = None
    upstream_request_id: str | None = Field(
        default=None,
        description="The provider's request id of the batch line (its response.request_id), when there is one.",
    )


class RequestCounts(BaseModel):
    """OpenAI's ``request_counts``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    total: int = 0
    completed: int = 0
    failed: int = 0


class TokenUsage(BaseModel):
    """Tokens a batch consumed (OpenAI's batch ``usage``, or summed over its lines)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class BatchEvent(_Message):
    """A lifecycle event on ``batchgpt.batches`` (key: our batch id)."""

    batch_id: str = Field(min_length=1)
    kind: BatchEventKind
    status: BatchStatus
    upstream_batch_id: str | None = None
    endpoint: Endpoint | None = None
    model: str | None = None
    request_counts: RequestCounts = Field(default_factory=RequestCounts)
    usage: TokenUsage | None = None
    error: str | None = None
    occurred_at: float = Field(default_factory=_now)


WEBHOOK_EVENT_TYPES = (
    "request.completed",
    "request.failed",
    "batch.completed",
    "batch.failed",
    "batch.expired",
    "batch.cancelled",
)
"""The events batch-gpt sends to ``BATCHGPT_WEBHOOK_URL``."""


class WebhookEvent(_Message):
    """An event for batch-gpt's webhook receiver on ``batchgpt.webhooks`` (key: ``data.id``), POSTed as OpenAI's
    event shape ``{id, object: "event", type, created_at, data}`` with ``webhook-id`` = ``event_id``.

    ``data`` of a request event: ``{id, status, status_code, endpoint}``; of a batch event: ``{id, status,
    endpoint, model, request_counts}``.
    """

    event_id: str = Field(min_length=1, max_length=100)
    type: Literal[
        "request.completed", "request.failed", "batch.completed", "batch.failed", "batch.expired", "batch.cancelled"
    ]
    created_at: float = Field(default_factory=_now)
    data: dict[str, Any]


class DeadLetter(_Message):
    """Something on the requests topic that could not be processed, or a webhook event that could not be delivered
    (``undeliverable``, from the webhooks topic), with the reason (key: as received)."""

    reason: Literal["not_json", "invalid_shape", "unknown_endpoint", "too_large", "unprocessable", "undeliverable"]
    error: str
    source_topic: str
    partition: int
    offset: int
    key: str | None = None
    value: str = Field(description="The original value: UTF-8 text, or base64 when it was not UTF-8.")
    value_encoding: Literal["utf-8", "base64"] = "utf-8"
    dead_lettered_at: float = Field(default_factory=_now)
