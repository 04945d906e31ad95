"""Splitting a window into upstream batches (pure: no I/O).

A window's requests are grouped by ``(tenant, endpoint, model)`` (one tenant, one endpoint and one
model per batch), in order of first arrival, then each group is cut into consecutive chunks that
respect the request cap, the byte cap (the bytes of the JSONL lines) and, for embeddings, the cap on
embedding inputs summed over the lines (:func:`embedding_inputs`). A batch's id is derived from its
members only, so the same members always give the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from collator.lines import jsonl_line
from schemas.messages import RequestMessage
from schemas.status import Endpoint

__all__ = [
    "MAX_EMBEDDING_INPUTS",
    "BatchPlan",
    "PlannedLine",
    "WindowPlan",
    "batch_id_for",
    "embedding_inputs",
    "plan_window",
]

BATCH_ID_PREFIX = "bg_"
MAX_EMBEDDING_INPUTS = 50_000
"""OpenAI's cap on the embedding inputs of one batch (summed over its lines), besides 50,000 lines and 200 MB."""


def embedding_inputs(body: dict[str, Any]) -> int:
    """How many inputs an embeddings body embeds: a string or one token array is one; a list of strings or
    of token arrays counts its items."""
    raw = body.get("input")
    if isinstance(raw, list):
        if raw and all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
            return 1  # one input given as token ids
        return len(raw)
    return 1


@dataclass(frozen=True)
class PlannedLine:
    """One request and its JSONL line."""

    request: RequestMessage
    data: bytes
    inputs: int = 0
    """Embedding inputs of the line (0 for other endpoints)."""

    @property
    def key(self) -> tuple[str, int]:
        return (self.request.request_id, self.request.attempt)


@dataclass(frozen=True)
class BatchPlan:
    """One upstream batch to be: its id, routing key and lines in file order."""

    batch_id: str
    tenant: str
    endpoint: str
    model: str
    lines: tuple[PlannedLine, ...]

    @property
    def members(self) -> tuple[RequestMessage, ...]:
        """The requests in file order."""
        return tuple(line.request for line in self.lines)

    @property
    def byte_count(self) -> int:
        return sum(len(line.data) for line in self.lines)

    @property
    def content(self) -> bytes:
        """The JSONL file."""
        return b"".join(line.data for line in self.lines)


@dataclass(frozen=True)
class WindowPlan:
    """The batches of a window, and the requests too large to fit any batch."""

    batches: tuple[BatchPlan, ...]
    oversized: tuple[PlannedLine, ...]


def batch_id_for(members: Iterable[tuple[str, int]]) -> str:
    """``bg_`` + 32 hex of sha256 over the sorted ``(request_id, attempt)`` pairs."""
    canonical = "\n".join(f"{request_id}\t{attempt}" for request_id, attempt in sorted(members))
    return BATCH_ID_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _make_plan(group: tuple[str, str, str], lines: list[PlannedLine]) -> BatchPlan:
    tenant, endpoint, model = group
    return BatchPlan(
        batch_id=batch_id_for(line.key for line in lines),
        tenant=tenant,
        endpoint=endpoint,
        model=model,
        lines=tuple(lines),
    )


def _inputs(request: RequestMessage) -> int:
    return embedding_inputs(request.body) if request.endpoint is Endpoint.EMBEDDINGS else 0


def plan_window(
    requests: Sequence[RequestMessage],
    *,
    max_requests: int,
    max_bytes: int,
    max_inputs: int = MAX_EMBEDDING_INPUTS,
) -> WindowPlan:
    """Group ``requests`` by (tenant, endpoint, model) and cut each group by the caps (``max_inputs``: the
    embedding inputs of a batch; a line with more than that goes alone in its batch, for upstream to judge)."""
    if max_requests < 1 or max_bytes < 1 or max_inputs < 1:
        raise ValueError("caps must be positive")
    groups: dict[tuple[str, str, str], list[PlannedLine]] = {}
    oversized: list[PlannedLine] = []
    for request in requests:
        line = PlannedLine(request=request, data=jsonl_line(request), inputs=_inputs(request))
        if len(line.data) > max_bytes:
            oversized.append(line)
            continue
        groups.setdefault((request.tenant, request.endpoint.value, request.model), []).append(line)
    plans: list[BatchPlan] = []
    for group, lines in groups.items():
        chunk: list[PlannedLine] = []
        chunk_bytes = chunk_inputs = 0
        for line in lines:
            full = (
                len(chunk) >= max_requests
                or chunk_bytes + len(line.data) > max_bytes
                or chunk_inputs + line.inputs > max_inputs
            )
            if chunk and full:
                plans.append(_make_plan(group, chunk))
                chunk, chunk_bytes, chunk_inputs = [], 0, 0
            chunk.append(line)
            chunk_bytes += len(line.data)
            chunk_inputs += line.inputs
        if chunk:
            plans.append(_make_plan(group, chunk))
    return WindowPlan(batches=tuple(plans), oversized=tuple(oversized))
