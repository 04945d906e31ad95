"""``batch_members`` rows: inserting a batch's lines, finding requests already in a batch, the open members
of a batch, their stored requests, and their outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, select, update

from batchgpt.store.records import BatchToReserve, MemberRow
from batchgpt.store.requests import chunks
from batchgpt.store.tables import batch_members, batches
from schemas.codec import encode

__all__ = ["existing_members", "insert_members", "member_requests", "open_members", "set_outcome"]


def insert_members(conn: Connection, plans: Sequence[BatchToReserve]) -> None:
    """One row per line of each planned batch (``line_no`` 0-based), with the full request message."""
    rows = [
        {
            "batch_id": plan.batch_id,
            "request_id": request.request_id,
            "attempt": request.attempt,
            "line_no": line_no,
            "tenant": request.tenant,
            "reply_topic": request.reply_to.topic if request.reply_to else None,
            "reply_partition": request.reply_to.partition if request.reply_to else None,
            "request": encode(request).decode(),
            "outcome": None,
        }
        for plan in plans
        for line_no, request in enumerate(plan.members)
    ]
    if rows:
        conn.execute(batch_members.insert(), rows)


def existing_members(engine: Engine, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """``(request_id, attempt)`` -> ``(batch_id, batch status)`` for the keys already in a batch."""
    wanted = set(keys)
    found: dict[tuple[str, int], tuple[str, str]] = {}
    ids = sorted({request_id for request_id, _ in wanted})
    with engine.connect() as conn:
        for part in chunks(ids):
            rows = conn.execute(
                select(batch_members.c.request_id, batch_members.c.attempt, batches.c.id, batches.c.status)
                .join(batches, batches.c.id == batch_members.c.batch_id)
                .where(batch_members.c.request_id.in_(part))
            )
            for request_id, attempt, batch_id, status in rows:
                if (request_id, attempt) in wanted:
                    found[(request_id, attempt)] = (batch_id, status)
    return found


def open_members(engine: Engine, *, batch_id: str) -> list[MemberRow]:
    """The batch's members that have no outcome yet (not answered, not resubmitted), in line order."""
    m = batch_members.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.request_id, m.attempt, m.line_no, m.tenant, m.reply_topic, m.reply_partition, m.outcome)
            .where(m.batch_id == batch_id, m.outcome.is_(None))
            .order_by(m.line_no)
        ).all()
    return [
        MemberRow(
            request_id=r.request_id,
            attempt=r.attempt,
            line_no=r.line_no,
            tenant=r.tenant,
            reply_topic=r.reply_topic,
            reply_partition=r.reply_partition,
            outcome=r.outcome,
        )
        for r in rows
    ]


def member_requests(engine: Engine, *, batch_id: str, request_ids: Sequence[str]) -> dict[str, str]:
    """The stored ``RequestMessage`` JSON of some members (loaded only when they are resubmitted)."""
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for part in chunks(request_ids):
            rows = conn.execute(
                select(batch_members.c.request_id, batch_members.c.request).where(
                    batch_members.c.batch_id == batch_id, batch_members.c.request_id.in_(part)
                )
            )
            found.update({row.request_id: row.request for row in rows})
    return found


def set_outcome(conn: Connection, *, batch_id: str, request_ids: Sequence[str], outcome: str) -> None:
    """Record how some members ended: ``completed``, ``failed`` or ``resubmitted``."""
    for part in chunks(request_ids):
        conn.execute(
            update(batch_members)
            .where(batch_members.c.batch_id == batch_id, batch_members.c.request_id.in_(part))
            .values(outcome=outcome)
        )
