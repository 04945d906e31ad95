"""Closed sets of states: upstream batch status, our request states, reply outcomes, endpoints."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "TERMINAL_BATCH_STATUSES",
    "BatchEventKind",
    "BatchStatus",
    "Endpoint",
    "Provider",
    "ReplyStatus",
    "RequestState",
]


class Provider(StrEnum):
    """Who runs a batch: the OpenAI family (OpenAI or Azure OpenAI) or Anthropic (Message Batches)."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class Endpoint(StrEnum):
    """Upstream endpoints batch-gpt batches (the batch ``endpoint`` and each line's ``url``)."""

    CHAT_COMPLETIONS = "/v1/chat/completions"
    EMBEDDINGS = "/v1/embeddings"
    RESPONSES = "/v1/responses"
    COMPLETIONS = "/v1/completions"
    MODERATIONS = "/v1/moderations"
    MESSAGES = "/v1/messages"
    """Anthropic's Messages API, batched through Message Batches."""

    @property
    def provider(self) -> Provider:
        """The provider whose batches run this endpoint."""
        return Provider.ANTHROPIC if self is Endpoint.MESSAGES else Provider.OPENAI

    @property
    def model_required(self) -> bool:
        """Whether a body must name its ``model`` (OpenAI's moderations default it when omitted)."""
        return self is not Endpoint.MODERATIONS


class BatchStatus(StrEnum):
    """A batch's status: ``pending`` (ours, not yet created upstream) then OpenAI's eight."""

    PENDING = "pending"
    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_BATCH_STATUSES


TERMINAL_BATCH_STATUSES = frozenset(
    {BatchStatus.FAILED, BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)


class RequestState(StrEnum):
    """Where one accepted request stands, as the HTTP API reports it."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in {RequestState.COMPLETED, RequestState.FAILED}


class ReplyStatus(StrEnum):
    """The outcome a reply carries."""

    COMPLETED = "completed"
    FAILED = "failed"


class BatchEventKind(StrEnum):
    """What a message on the batches topic reports."""

    SUBMITTED = "submitted"
    STATUS_CHANGED = "status_changed"
    TERMINAL = "terminal"
    RESOLVED = "resolved"
    NOTIFIED = "notified"
    """The provider said the batch changed (an OpenAI ``batch.*`` webhook the ingress verified): look at it now."""
