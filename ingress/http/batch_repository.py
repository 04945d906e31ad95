"""The ``batches`` queries ingress owns: a tenant's batches (paged, newest first) and cancel requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from batchgpt.tables import batches
from schemas.status import BatchStatus

__all__ = ["get_batch", "list_batches", "request_cancel"]


def get_batch(engine: Engine, *, tenant: str, batch_id: str) -> Mapping[str, Any] | None:
    """The tenant's batch ``batch_id`` (None when unknown or another tenant's)."""
    query = select(batches).where(batches.c.id == batch_id, batches.c.tenant == tenant)
    with engine.connect() as conn:
        found = conn.execute(query).mappings().first()
    return dict(found) if found is not None else None


def list_batches(engine: Engine, *, tenant: str, after: str | None, limit: int) -> tuple[list[Mapping[str, Any]], bool]:
    """Up to ``limit`` of the tenant's batches, newest first, after the batch id ``after``; and ``has_more``."""
    query = select(batches).where(batches.c.tenant == tenant)
    with engine.connect() as conn:
        if after:
            cursor = conn.execute(
                select(batches.c.created_at).where(batches.c.id == after, batches.c.tenant == tenant)
            ).first()
            if cursor is not None:
                query = query.where(
                    or_(
                        batches.c.created_at < cursor.created_at,
                        and_(batches.c.created_at == cursor.created_at, batches.c.id < after),
                    )
                )
        query = query.order_by(batches.c.created_at.desc(), batches.c.id.desc()).limit(limit + 1)
        rows = [dict(row) for row in conn.execute(query).mappings()]
    return rows[:limit], len(rows) > limit


def request_cancel(engine: Engine, *, tenant: str, batch_id: str, now: float) -> Mapping[str, Any] | None:
    """Mark a non-terminal batch for cancellation (the resolver carries it out); return the row after.

    Terminal batches are returned unchanged; the caller decides between 200 and 409.
    """
    terminal = [status.value for status in BatchStatus if status.is_terminal]
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.tenant == tenant, batches.c.status.not_in(terminal))
            .values(cancel_requested=True, next_poll_at=now)
        )
        found = conn.execute(select(batches).where(batches.c.id == batch_id, batches.c.tenant == tenant))
        row = found.mappings().first()
    return dict(row) if row is not None else None
