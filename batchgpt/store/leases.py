"""Leases on batches, so that no batch is worked on by two workers at once.

* The collator leases **pending** batches (reserved, not yet upstream) while it submits them; a batch
  whose lease expired (its submitter died) is taken over by another worker's sweep.
* The resolver leases **open** batches: not resolved, not pending, and either created upstream or
  failed before reaching it (the collator gave up submitting; the resolver answers its members).
* Leases are short (seconds) and kept alive while their owner works by its heartbeat
  (:class:`batchgpt.lease_heartbeat.LeaseHeartbeat`), which extends all of them in one UPDATE
  (:func:`renew_held`); a dead owner's leases lapse within one lease time and are taken over.

Claims are atomic conditional UPDATEs, correct on SQLite (serialised writers) and PostgreSQL (the
WHERE is re-checked after the row lock).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, update

from batchgpt.store.errors import LeaseLost
from batchgpt.store.tables import batches
from schemas.status import BatchStatus

__all__ = [
    "claim_due",
    "claim_pending",
    "next_due_at",
    "release",
    "renew",
    "renew_held",
    "renew_pending",
    "stale_pending",
]

_OPEN_UPSTREAM = (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING)


def _lease_free(now: float) -> Any:
    return or_(batches.c.lease_owner.is_(None), batches.c.lease_expires_at.is_(None), batches.c.lease_expires_at < now)


# ----------------------------------------------------------------------------- the collator's pending batches
def _update_pending(engine: Engine, batch_id: str, lease_held: Any, **values: Any) -> bool:
    """Set ``values`` on the batch while it is pending and ``lease_held`` is true of it; whether it was."""
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.status == BatchStatus.PENDING.value, lease_held)
            .values(**values)
        )
        return result.rowcount == 1


def claim_pending(engine: Engine, batch_id: str, *, owner: str, now: float, lease_s: float) -> bool:
    """Take (or renew) the lease on a pending batch; False when another live worker holds it."""
    held_by_nobody_else = or_(_lease_free(now), batches.c.lease_owner == owner)
    return _update_pending(engine, batch_id, held_by_nobody_else, lease_owner=owner, lease_expires_at=now + lease_s)


def renew_pending(engine: Engine, batch_id: str, *, owner: str, now: float, lease_s: float, attempts: int) -> bool:
    """Extend our lease on a pending batch and record the attempt count; False when we lost the lease."""
    held_by_us = batches.c.lease_owner == owner
    return _update_pending(engine, batch_id, held_by_us, lease_expires_at=now + lease_s, submit_attempts=attempts)


def stale_pending(engine: Engine, *, now: float, limit: int = 100) -> list[str]:
    """Pending batches whose lease has expired (their submitter died), oldest first."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(batches.c.id)
                .where(
                    batches.c.status == BatchStatus.PENDING.value,
                    or_(batches.c.lease_expires_at.is_(None), batches.c.lease_expires_at < now),
                )
                .order_by(batches.c.created_at)
                .limit(limit)
            ).scalars()
        )


def renew_held(engine: Engine, batch_ids: Collection[str], *, owner: str, now: float, lease_s: float) -> set[str]:
    """Extend ``owner``'s lease on each of ``batch_ids`` it still holds (one UPDATE); return the ids renewed.

    An id missing from the answer is no longer ``owner``'s: released, finished, or taken over by another worker.
    """
    if not batch_ids:
        return set()
    with engine.begin() as conn:
        renewed = conn.execute(
            update(batches)
            .where(batches.c.id.in_(sorted(batch_ids)), batches.c.lease_owner == owner)
            .values(lease_expires_at=now + lease_s)
            .returning(batches.c.id)
        ).scalars()
        return set(renewed)


# ----------------------------------------------------------------------------- the resolver's open batches
def _open() -> Any:
    """Not resolved, and upstream or failed before reaching it."""
    return and_(
        batches.c.resolved_at.is_(None),
        batches.c.status != BatchStatus.PENDING.value,
        or_(batches.c.upstream_batch_id.is_not(None), batches.c.status == BatchStatus.FAILED.value),
    )


def _claimable(now: float) -> Any:
    return and_(
        _open(),
        or_(batches.c.next_poll_at.is_(None), batches.c.next_poll_at <= now),
        _lease_free(now),
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


def renew(engine: Engine, *, batch_id: str, owner: str, now: float, lease_seconds: float) -> None:
    """Extend ``owner``'s lease on an open batch.

    :raises LeaseLost: the lease is no longer ``owner``'s.
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.lease_owner == owner)
            .values(lease_expires_at=now + lease_seconds)
        )
    if result.rowcount != 1:
        raise LeaseLost(batch_id)


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
    with engine.connect() as conn:
        free = conn.execute(
            select(func.min(func.coalesce(batches.c.next_poll_at, 0.0))).where(_open(), batches.c.lease_owner.is_(None))
        ).scalar()
        leased = conn.execute(
            select(func.min(batches.c.lease_expires_at)).where(_open(), batches.c.lease_owner.is_not(None))
        ).scalar()
    times = [float(t) for t in (free, leased) if t is not None]
    return min(times) if times else None
