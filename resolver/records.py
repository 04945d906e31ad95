"""Plain records the resolver reads from and writes to its tables (no SQL here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import BatchStatus

__all__ = ["BatchRow", "MemberRow", "ResultRow", "UpstreamBatch"]


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


@dataclass(frozen=True)
class UpstreamBatch:
    """What the resolver needs from OpenAI's Batch object."""

    id: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    errors: list[dict[str, Any]] | None
    total: int
    completed: int
    failed: int
    input_tokens: int | None
    output_tokens: int | None
    terminal_at: float | None

    @classmethod
    def from_sdk(cls, batch: Any) -> UpstreamBatch:
        """Build from ``openai.types.Batch`` (missing optional fields become ``None``/0)."""
        counts = batch.request_counts
        usage = getattr(batch, "usage", None)
        errors = None
        if batch.errors is not None and batch.errors.data is not None:
            errors = [e.model_dump() for e in batch.errors.data]
        terminal = next(
            (
                float(t)
                for t in (batch.completed_at, batch.failed_at, batch.expired_at, batch.cancelled_at)
                if t is not None
            ),
            None,
        )
        return cls(
            id=batch.id,
            status=BatchStatus(batch.status),
            output_file_id=batch.output_file_id or None,
            error_file_id=batch.error_file_id or None,
            errors=errors,
            total=counts.total if counts else 0,
            completed=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            input_tokens=usage.input_tokens if usage is not None else None,
            output_tokens=usage.output_tokens if usage is not None else None,
            terminal_at=terminal,
        )
