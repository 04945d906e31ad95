"""The plain rows the store hands out and takes in (no SQL here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from schemas.messages import RequestMessage
from schemas.status import BatchStatus, RequestState

__all__ = [
    "BatchRow",
    "BatchToReserve",
    "MemberRow",
    "PendingBatch",
    "PolledBatch",
    "RequestRow",
    "ResultRow",
    "StoredResult",
]


class BatchToReserve(Protocol):
    """A planned batch (the collator's ``BatchPlan``): its id, routing key, size and members in line order."""

    @property
    def batch_id(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def byte_count(self) -> int: ...
    @property
    def members(self) -> Sequence[RequestMessage]: ...


class PolledBatch(Protocol):
    """What one poll of the upstream batch saw (the resolver's ``UpstreamBatch``)."""

    @property
    def status(self) -> BatchStatus: ...
    @property
    def output_file_id(self) -> str | None: ...
    @property
    def error_file_id(self) -> str | None: ...
    @property
    def errors(self) -> list[dict[str, Any]] | None: ...
    @property
    def total(self) -> int: ...
    @property
    def completed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...


@dataclass(frozen=True)
class PendingBatch:
    """A reserved batch not yet created upstream, rebuilt from the database."""

    batch_id: str
    tenant: str
    endpoint: str
    model: str
    created_at: float
    submit_attempts: int
    requests: tuple[RequestMessage, ...]
    content: bytes = b""
    """The JSONL file when already built (empty: build it from ``requests``)."""


@dataclass(frozen=True)
class BatchRow:
    """The columns of ``batches`` the resolver works with."""

    id: str
    upstream_batch_id: str | None
    tenant: str
    endpoint: str
    model: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    errors: list[dict[str, Any]]
    cancel_requested: bool
    terminal_at: float | None
    resolved_at: float | None
    next_poll_at: float | None
    line_count: int
    request_completed: int
    request_failed: int
    input_tokens: int
    output_tokens: int
    input_file_id: str | None = None
    """The uploaded input file, deleted upstream once the batch is resolved."""
    provider: str = "openai"
    """Who runs the batch (``schemas.Provider``): ``openai`` or ``anthropic``."""


@dataclass(frozen=True)
class MemberRow:
    """One line of a batch: its request id, attempt and where its reply goes (the request body is not loaded)."""

    request_id: str
    attempt: int
    line_no: int
    tenant: str
    reply_topic: str | None
    reply_partition: int | None
    outcome: str | None


@dataclass(frozen=True)
class ResultRow:
    """One ``results`` row to store (the reply that was delivered); ``body`` is JSON text."""

    request_id: str
    tenant: str | None
    status: str
    status_code: int
    body: str
    completed_at: float
    upstream_request_id: str | None = None
    """The provider's ``response.request_id`` of the batch line, when there is one."""
    input_tokens: int | None = None
    output_tokens: int | None = None
    """The tokens the answer's ``usage`` reported (``None`` when it reported none)."""


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A stored result as the HTTP API serves it; ``body`` is JSON text."""

    request_id: str
    status_code: int
    body: str
    upstream_request_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestRow:
    """The parts of a ``requests`` row ingress needs."""

    request_id: str
    tenant: str
    endpoint: str
    fingerprint: str | None
    state: str
    batch_id: str | None
    received_at: float

    @property
    def final(self) -> bool:
        return RequestState(self.state).is_final
