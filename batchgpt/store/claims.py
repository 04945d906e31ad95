"""What a provider without batch metadata (Anthropic's Message Batches) needs to find its batch again after a
crash between creating it upstream and recording it: the batch's line count and custom_ids, the rows that look
the same upstream, and which upstream batches other rows already claim. Reads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select

from batchgpt.store.tables import batch_members, batches
from schemas.status import BatchStatus

__all__ = ["SubmissionFacts", "claimed_upstream_ids", "submission_facts"]


@dataclass(frozen=True)
class SubmissionFacts:
    """A batch row as an upstream without metadata can recognise it.

    ``rivals`` are the rows still waiting for their upstream batch that look the same upstream (the same
    endpoint and line count, reserved since ``since``), oldest first, this batch among them.
    """

    line_count: int
    custom_ids: frozenset[str]
    rivals: tuple[str, ...]


def submission_facts(engine: Engine, batch_id: str, *, since: float) -> SubmissionFacts | None:
    """The facts of ``batch_id`` (``None`` when there is no such row)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(batches.c.endpoint, batches.c.line_count).where(batches.c.id == batch_id)
        ).one_or_none()
        if row is None:
            return None
        custom_ids = frozenset(
            str(r.request_id)
            for r in conn.execute(select(batch_members.c.request_id).where(batch_members.c.batch_id == batch_id))
        )
        rivals = conn.execute(
            select(batches.c.id)
            .where(
                batches.c.endpoint == row.endpoint,
                batches.c.line_count == row.line_count,
                batches.c.status == BatchStatus.PENDING.value,
                batches.c.upstream_batch_id.is_(None),
                batches.c.created_at >= since,
            )
            .order_by(batches.c.created_at, batches.c.id)
        )
        ordered = [r.id for r in rivals]
    if batch_id not in ordered:
        ordered.append(batch_id)
    return SubmissionFacts(line_count=int(row.line_count), custom_ids=custom_ids, rivals=tuple(ordered))


def claimed_upstream_ids(engine: Engine, upstream_ids: Sequence[str]) -> set[str]:
    """Which of ``upstream_ids`` a batch row already records as its upstream batch."""
    if not upstream_ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(select(batches.c.upstream_batch_id).where(batches.c.upstream_batch_id.in_(upstream_ids)))
        return {str(r.upstream_batch_id) for r in rows}
