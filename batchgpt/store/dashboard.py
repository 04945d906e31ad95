"""The dashboard's reads: requests by state, failed answers, token totals by tenant and model, a batch's answers.

``tenant`` is one tenant's id, or ``None`` for every tenant (an administrator's view). Columns that other
changes add are read when the table declares them: ``results.answered_by`` (how a request was answered:
``batch``, ``sync`` or ``flex``; ``batch`` without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, func, literal, select

from batchgpt.store.tables import batches, requests, results

__all__ = ["AnswerRow", "UsageGroup", "batch_answers", "failed_bodies", "requests_by_state", "usage_groups"]


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The answers of one tenant for one model answered one way, summed."""

    tenant: str
    model: str
    answered_by: str
    requests: int
    failed: int
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One answered request of a batch, as the batch's detail view lists it; ``body`` is JSON text."""

    request_id: str
    status: str
    status_code: int
    body: str
    upstream_request_id: str | None
    input_tokens: int | None
    output_tokens: int | None


_FAILED = case((results.c.status != "completed", 1), else_=0)
"""1 for a failed answer, 0 for a completed one."""


def _answered_by() -> Any:
    column = results.c.get("answered_by")
    return func.coalesce(column, "batch") if column is not None else literal("batch")


def requests_by_state(engine: Engine, *, tenant: str | None) -> dict[str, int]:
    """Number of the tenant's requests (still recorded) per state."""
    query = select(requests.c.state, func.count()).group_by(requests.c.state)
    if tenant is not None:
        query = query.where(requests.c.tenant == tenant)
    with engine.connect() as conn:
        return {str(state): int(n) for state, n in conn.execute(query).all()}


def failed_bodies(engine: Engine, *, tenant: str | None) -> list[tuple[int, str]]:
    """``(status_code, body)`` of every failed answer of the tenant still stored."""
    query = select(results.c.status_code, results.c.body).where(results.c.status != "completed")
    if tenant is not None:
        query = query.where(results.c.tenant == tenant)
    with engine.connect() as conn:
        return [(int(code), str(body)) for code, body in conn.execute(query).all()]


def usage_groups(engine: Engine, *, tenant: str | None, since: float | None) -> list[UsageGroup]:
    """The answers completed at or after ``since`` (all for ``None``), summed by tenant, model and how answered."""
    answered_by = _answered_by().label("answered_by")
    model = func.coalesce(requests.c.model, batches.c.model, "").label("model")
    owner = func.coalesce(results.c.tenant, "default").label("owner")
    query = (
        select(
            owner,
            model,
            answered_by,
            func.count(),
            func.sum(_FAILED),
            func.coalesce(func.sum(results.c.input_tokens), 0),
            func.coalesce(func.sum(results.c.output_tokens), 0),
        )
        .select_from(
            results.outerjoin(requests, requests.c.request_id == results.c.request_id).outerjoin(
                batches, batches.c.id == results.c.batch_id
            )
        )
        .group_by(owner, model, answered_by)
    )
    if tenant is not None:
        query = query.where(results.c.tenant == tenant)
    if since is not None:
        query = query.where(results.c.completed_at >= since)
    with engine.connect() as conn:
        return [
            UsageGroup(str(t), str(m), str(a), int(n), int(f or 0), int(i or 0), int(o or 0))
            for t, m, a, n, f, i, o in conn.execute(query).all()
        ]


def batch_answers(engine: Engine, *, batch_id: str, limit: int) -> Sequence[AnswerRow]:
    """Up to ``limit`` answers stored for the batch's members, failed ones first."""
    query = (
        select(
            results.c.request_id,
            results.c.status,
            results.c.status_code,
            results.c.body,
            results.c.upstream_request_id,
            results.c.input_tokens,
            results.c.output_tokens,
        )
        .where(results.c.batch_id == batch_id)
        .order_by(_FAILED.desc(), results.c.request_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [AnswerRow(*row) for row in conn.execute(query).all()]
