"""What the simulator stores: file and batch records (JSON-serialisable for ``--state-dir``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from batchgpt.simulator.lifecycle import Schedule

__all__ = ["BatchRecord", "FileRecord", "LineRecord", "LineOutcome"]


class FileRecord(BaseModel):
    """A stored file's metadata (its bytes are kept beside it)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    expires_at: int | None = None
    seq: int = 0
    """Creation order, to sort files created within the same second."""

    def to_api(self) -> dict[str, object]:
        """The File object as the API answers it."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": self.expires_at,
            "status_details": None,
        }


class LineRecord(BaseModel):
    """One request of a validated batch."""

    custom_id: str
    body: dict[str, object]


class LineOutcome(BaseModel):
    """A line's precomputed result: HTTP status and tokens (the body is built when files are written)."""

    status: int
    input_tokens: int
    output_tokens: int


class BatchRecord(BaseModel):
    """A batch: what was asked, its schedule, and its result files once terminal."""

    model_config = ConfigDict(extra="ignore")

    id: str
    endpoint: str
    input_file_id: str
    api: Literal["openai", "anthropic"] = "openai"
    """Which API created it: an OpenAI Batch (input file, result files) or an Anthropic Message Batch (inline
    requests, results served per batch); each API sees only its own batches."""
    completion_window: str = "24h"
    window_seconds: float = 86400.0
    """The real length of the completion window this batch got (``expires_at - created_at``)."""
    metadata: dict[str, str] | None = None
    output_expires_after_seconds: int | None = None
    seq: int = 0

    schedule: Schedule
    validation_errors: list[dict[str, object]] = Field(default_factory=list)
    model: str | None = None
    models: list[str] = Field(default_factory=list)
    custom_ids: list[str] = Field(default_factory=list)
    """Every custom_id found in the input (for the submission stats), valid or not."""
    line_count: int = 0
    lines: list[LineRecord] = Field(default_factory=list)
    outcomes: list[LineOutcome] = Field(default_factory=list)

    shuffle_seed: int | None = None
    """Seed of the output shuffle; None keeps input order."""
    expired_count_as_failed: bool = True
    empty_error_file: bool = False
    cancelled_unrun_lines: str = "omit"

    final_status: str | None = None
    """The terminal status once its result files were written."""
    output_file_id: str | None = None
    error_file_id: str | None = None
