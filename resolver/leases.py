"""Leases on open batches: several resolver workers share them, and no batch is worked on by two at once.

A batch is claimable when it is open (``resolved_at IS NULL``, created upstream), due (``next_poll_at``
passed or unset) and not leased (no owner, or the lease expired). Claims are atomic conditional UPDATEs,
correct on SQLite (serialised writers) and PostgreSQL (the WHERE is re-checked after the row lock).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, update

from batchgpt.tables import batches
from resolver.errors import LeaseLostError
from schemas import BatchStatus

__all__ = ["claim_due", "next_due_at", "release", "renew_lease"]

_OPEN_UPSTREAM = (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING)


def _claimable(now: float) -> Any:
    return and_(
        batches.c.resolved_at.is_(None),
        batches.c.upstream_batch_id.is_not(None),
        batches.c.status != BatchStatus.PENDING.value,
        or_(batches.c.next_poll_at.is_(None), batches.c.next_poll_at <= now),
        or_(batches.c.lease_owner.is_(None), batches.c.lease_expires_at.is_(None), batches.c.lease_expires_at < now),
    )


def claim_due(engine: Engine, *, owner: str, now: float, lease_seconds: float, limit: int) -> list[str]:
    """Lease up to ``limit`` open batches that are due; return their ids (each claimed by exactly one worker)."""
    if limit <= 0:
        return []
    with engine.connect() as conn:
        candidates = (
            conn.execute(
                select(batches.c.id)
                .where(_claimable(now))
                .order_by(func.coalesce(batches.c.next_poll_at, 0.0))
                .limit(limit * 2)
            )
            .scalars()
            .all()
        )
    claimed: list[str] = []
    for batch_id in candidates:
        if len(claimed) >= limit:
            break
        with engine.begin() as conn:
            result = conn.execute(
                update(batches)
                .where(batches.c.id == batch_id, _claimable(now))
                .values(lease_owner=owner, lease_expires_at=now + lease_seconds)
            )
            if result.rowcount == 1:
                claimed.append(batch_id)
    return claimed


def renew_lease(engine: Engine, *, batch_id: str, owner: str, now: float, lease_seconds: float) -> None:
    """Extend this worker's lease.

    :raises LeaseLostError: the lease is no longer this worker's.
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.lease_owner == owner)
            .values(lease_expires_at=now + lease_seconds)
        )
    if result.rowcount != 1:
        raise LeaseLostError(batch_id)


def release(engine: Engine, *, batch_id: str, owner: str, next_poll_at: float, cancel_poll_at: float) -> None:
    """Give the lease back and schedule the next poll (``cancel_poll_at`` if a cancel is still to be sent)."""
    cancel_pending = and_(batches.c.cancel_requested.is_(True), batches.c.status.in_([s.value for s in _OPEN_UPSTREAM]))
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_expires_at=None,
                next_poll_at=case((cancel_pending, cancel_poll_at), else_=next_poll_at),
            )
        )


def next_due_at(engine: Engine) -> float | None:
    """The earliest time an open batch may become claimable (``None`` when there is none)."""
    open_ = and_(
        batches.c.resolved_at.is_(None),
        batches.c.upstream_batch_id.is_not(None),
        batches.c.status != BatchStatus.PENDING.value,
    )
    with engine.connect() as conn:
        free = conn.execute(
            select(func.min(func.coalesce(batches.c.next_poll_at, 0.0))).where(open_, batches.c.lease_owner.is_(None))
        ).scalar()
        leased = conn.execute(
            select(func.min(batches.c.lease_expires_at)).where(open_, batches.c.lease_owner.is_not(None))
        ).scalar()
    times = [float(t) for t in (free, leased) if t is not None]
    return min(times) if times else None
