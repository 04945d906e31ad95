"""What a provider without batch metadata (Anthropic's Message Batches) needs to find its batch again after a
crash between creating it upstream and recording it: the mark that a create began (``create_started_at``,
migration 0008), the batch's line count and custom_ids, the rows that look the same upstream, and which upstream
batches other rows already claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, select, update

from batchgpt.store.tables import batch_members, batches
from schemas.status import BatchStatus

__all__ = [
    "SubmissionFacts",
    "claimed_upstream_ids",
    "mark_create_started",
    "submission_facts",
    "unmark_create_started",
]


@dataclass(frozen=True)
class SubmissionFacts:
    """A batch row as an upstream without metadata can recognise it.

    ``create_started_at`` is when its last upstream create began (``None``: it never tried one). ``rivals`` are
    the rows that began a create and still wait for their upstream batch and look the same upstream (the same
    endpoint and line count, reserved since ``since``), in the order their creates began, this batch among them
    when it began one.
    """

    line_count: int
    custom_ids: frozenset[str]
    create_started_at: float | None
    rivals: tuple[str, ...]


def _waiting(batch_id: str) -> ColumnElement[bool]:
    return (
        (batches.c.id == batch_id)
        & (batches.c.status == BatchStatus.PENDING.value)
        & batches.c.upstream_batch_id.is_(None)
    )


def mark_create_started(engine: Engine, batch_id: str, *, now: float) -> None:
    """Note that an upstream create of the (still pending) batch begins now."""
    with engine.begin() as conn:
        conn.execute(update(batches).where(_waiting(batch_id)).values(create_started_at=now))


def unmark_create_started(engine: Engine, batch_id: str) -> None:
    """Take the mark back: the provider refused the create, so nothing was created."""
    with engine.begin() as conn:
        conn.execute(update(batches).where(_waiting(batch_id)).values(create_started_at=None))


def submission_facts(engine: Engine, batch_id: str, *, since: float) -> SubmissionFacts | None:
    """The facts of ``batch_id`` (``None`` when there is no such row)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(batches.c.endpoint, batches.c.line_count, batches.c.create_started_at).where(
                batches.c.id == batch_id
            )
        ).one_or_none()
        if row is None:
            return None
        custom_ids = frozenset(
            str(r.request_id)
            for r in conn.execute(select(batch_members.c.request_id).where(batch_members.c.batch_id == batch_id))
        )
        rivals = tuple(
            r.id
            for r in conn.execute(
                select(batches.c.id)
                .where(
                    batches.c.endpoint == row.endpoint,
                    batches.c.line_count == row.line_count,
                    batches.c.status == BatchStatus.PENDING.value,
                    batches.c.upstream_batch_id.is_(None),
                    batches.c.create_started_at.is_not(None),
                    batches.c.created_at >= since,
                )
                .order_by(batches.c.create_started_at, batches.c.id)
            )
        )
    return SubmissionFacts(
        line_count=int(row.line_count),
        custom_ids=custom_ids,
        create_started_at=row.create_started_at,
        rivals=rivals,
    )


def claimed_upstream_ids(engine: Engine, upstream_ids: Sequence[str]) -> set[str]:
    """Which of ``upstream_ids`` a batch row already records as its upstream batch."""
    if not upstream_ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(select(batches.c.upstream_batch_id).where(batches.c.upstream_batch_id.in_(upstream_ids)))
        return {str(r.upstream_batch_id) for r in rows}
