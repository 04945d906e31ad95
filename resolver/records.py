"""What the resolver keeps of an upstream Batch object (the rows it works with are the store's records)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import BatchStatus

__all__ = ["UpstreamBatch"]


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
