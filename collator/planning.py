"""Splitting a window into upstream batches (pure: no I/O).

A window's requests are grouped by ``(tenant, provider, endpoint, model)`` (one tenant, one provider, one
endpoint and one model per batch), in order of first arrival, then each group is cut into consecutive
chunks that respect its provider's request cap and byte cap (the bytes of the JSONL lines: OpenAI's file,
or the inline requests of an Anthropic Message Batch, which are smaller than the lines) and, for
embeddings, the cap on embedding inputs summed over the lines (:func:`embedding_inputs`). A batch's id is
derived from its members only, so the same members always give the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collator.lines import jsonl_line
from schemas.messages import RequestMessage
from schemas.status import Endpoint, Provider

__all__ = [
    "ANTHROPIC_CAPS",
    "MAX_EMBEDDING_INPUTS",
    "BatchCaps",
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


@dataclass(frozen=True)
class BatchCaps:
    """How many requests and bytes one batch of a provider may hold."""

    max_requests: int
    max_bytes: int


ANTHROPIC_CAPS = BatchCaps(max_requests=100_000, max_bytes=256 * 1000 * 1000 - 1_000_000)
"""Anthropic's Message Batches: 100,000 requests or 256 MB per batch (with a margin for the request envelope)."""


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
    def provider(self) -> Provider:
        """Who runs the batch (derived from its endpoint)."""
        return Endpoint(self.endpoint).provider

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


def _make_plan(group: tuple[str, Provider, str, str], lines: list[PlannedLine]) -> BatchPlan:
    tenant, _provider, endpoint, model = group
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
    provider_caps: Mapping[Provider, BatchCaps] | None = None,
) -> WindowPlan:
    """Group ``requests`` by (tenant, provider, endpoint, model) and cut each group by its provider's caps
    (``max_requests`` and ``max_bytes`` for OpenAI, ``provider_caps`` for the others, Anthropic's own by
    default; ``max_inputs``: the embedding inputs of a batch; a line with more than that goes alone in its
    batch, for upstream to judge)."""
    caps = {Provider.OPENAI: BatchCaps(max_requests, max_bytes), Provider.ANTHROPIC: ANTHROPIC_CAPS}
    caps.update(provider_caps or {})
    if any(c.max_requests < 1 or c.max_bytes < 1 for c in caps.values()) or max_inputs < 1:
        raise ValueError("caps must be positive")
    groups: dict[tuple[str, Provider, str, str], list[PlannedLine]] = {}
    oversized: list[PlannedLine] = []
    for request in requests:
        line = PlannedLine(request=request, data=jsonl_line(request), inputs=_inputs(request))
        provider = request.endpoint.provider
        if len(line.data) > caps[provider].max_bytes:
            oversized.append(line)
            continue
        groups.setdefault((request.tenant, provider, request.endpoint.value, request.model), []).append(line)
    plans: list[BatchPlan] = []
    for group, lines in groups.items():
        cap = caps[group[1]]
        chunk: list[PlannedLine] = []
        chunk_bytes = chunk_inputs = 0
        for line in lines:
            full = (
                len(chunk) >= cap.max_requests
                or chunk_bytes + len(line.data) > cap.max_bytes
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
