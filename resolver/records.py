"""Plain records the resolver reads from and writes to its tables (no SQL here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import BatchStatus

__all__ = ["BatchRow", "MemberRow", "ResultRow"]


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
    """One ``results`` row (the reply that was delivered)."""

    request_id: str
    tenant: str | None
    status: str
    status_code: int
    body: str
    completed_at: float
