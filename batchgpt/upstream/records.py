"""What the services keep of an upstream batch, whichever provider runs it (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import BatchStatus

__all__ = ["StagedInput", "UpstreamBatch", "UpstreamModel", "UpstreamResponse"]


@dataclass(frozen=True)
class UpstreamBatch:
    """An upstream batch as both services need it.

    ``output_file_id`` and ``error_file_id`` are the handles :meth:`Upstream.result_lines` reads (for OpenAI,
    file ids; a provider that serves all results per batch sets ``output_file_id`` to its handle and leaves
    ``error_file_id`` ``None``). ``errors`` are the batch-level errors (validation), ``None`` when the provider
    reported none; ``input_tokens``/``output_tokens`` are ``None`` when it reported no usage; ``terminal_at``
    is when the batch reached its terminal status, if it did.
    """

    id: str
    status: BatchStatus
    created_at: float
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    terminal_at: float | None = None


@dataclass(frozen=True)
class StagedInput:
    """A batch's input, ready for :meth:`Upstream.create`.

    A file-based provider (OpenAI) has uploaded it: ``input_file_id`` is set and ``lines`` is ``None``. A
    provider whose batch takes its requests inline (Anthropic) uploads nothing: it keeps ``lines``.
    """

    batch_id: str
    input_file_id: str | None = None
    lines: bytes | None = None


@dataclass(frozen=True)
class UpstreamModel:
    """A model the upstream serves (OpenAI's ``Model``: id, creation time, owner)."""

    id: str
    created: int = 0
    owned_by: str = ""


@dataclass(frozen=True)
class UpstreamResponse:
    """A synchronous call's successful answer: HTTP status, the provider's object, and its ``x-request-id``."""

    status: int
    body: dict[str, Any]
    request_id: str | None
