"""A provider's word about a batch (an OpenAI ``batch.*`` webhook): find our batch by its upstream id, and make an
open batch due for a poll now.

The ingress looks the batch up (an event about a batch that is not ours is dropped at the edge); the resolver
that receives the wake-up sets ``next_poll_at`` to now, so whichever resolver claims next polls it at once.
"""

from __future__ import annotations

from sqlalchemy import Engine, and_, or_, select, update

from batchgpt.store.tables import batches

__all__ = ["find_batch_id", "is_leased", "make_due_now"]


def find_batch_id(engine: Engine, upstream_batch_id: str) -> str | None:
    """Our batch id for the provider's ``upstream_batch_id`` (None when no batch of ours has it)."""
    with engine.connect() as conn:
        found = conn.execute(select(batches.c.id).where(batches.c.upstream_batch_id == upstream_batch_id)).scalar()
    return None if found is None else str(found)


def make_due_now(engine: Engine, batch_id: str, *, now: float) -> bool:
    """Bring an unresolved batch's next poll forward to ``now``; whether it was changed (False: resolved, unknown,
    or already due)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(
                batches.c.id == batch_id,
                batches.c.resolved_at.is_(None),
                or_(batches.c.next_poll_at.is_(None), batches.c.next_poll_at > now),
            )
            .values(next_poll_at=now)
        )
    return result.rowcount == 1


def is_leased(engine: Engine, batch_id: str, *, now: float) -> bool:
    """Whether a worker holds a live lease on the unresolved batch (its step will set the next poll on release)."""
    with engine.connect() as conn:
        found = conn.execute(
            select(batches.c.id).where(
                batches.c.id == batch_id,
                batches.c.resolved_at.is_(None),
                and_(batches.c.lease_owner.is_not(None), batches.c.lease_expires_at >= now),
            )
        ).first()
    return found is not None
