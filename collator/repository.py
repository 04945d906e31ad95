"""The collator's database edge: reserving batches, leases, recording submissions and give-ups.

A batch is written in two steps so that a crash can never send a request upstream twice:

1. **reserve**: one transaction inserts the ``batches`` row (status ``pending``, leased to this
   worker) and its ``batch_members``; ``UNIQUE(request_id, attempt)`` makes a request part of at
   most one batch, whoever races. The members' full messages are stored, so the batch can be
   rebuilt byte for byte after a crash, whatever window the requests are redelivered in.
2. once upstream accepted it, :mod:`collator.submissions` records the upstream id and status and
   moves the ``requests`` rows to ``submitted``.

All functions are synchronous (SQLAlchemy Core); the pipeline runs them in a thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from batchgpt.tables import batch_members, batches
from collator.errors import ReservationConflict
from collator.planning import BatchPlan
from schemas.codec import decode, encode
from schemas.messages import RequestMessage
from schemas.status import BatchStatus

__all__ = [
    "PendingBatch",
    "claim",
    "existing_members",
    "load_pending",
    "renew_lease",
    "reserve",
    "stale_pending",
]

_CHUNK = 500


@dataclass(frozen=True)
class PendingBatch:
    """A reserved batch not yet created upstream, rebuilt from the database."""

    batch_id: str
    tenant: str
    endpoint: str
    model: str
    created_at: float
    submit_attempts: int
    requests: tuple[RequestMessage, ...]
    content: bytes = b""
    """The JSONL file when already built (empty: build it from ``requests``)."""


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def existing_members(engine: Engine, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """``(request_id, attempt)`` -> ``(batch_id, batch status)`` for the keys already in a batch."""
    wanted = set(keys)
    found: dict[tuple[str, int], tuple[str, str]] = {}
    ids = sorted({request_id for request_id, _ in wanted})
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(batch_members.c.request_id, batch_members.c.attempt, batches.c.id, batches.c.status)
                .join(batches, batches.c.id == batch_members.c.batch_id)
                .where(batch_members.c.request_id.in_(chunk))
            )
            for request_id, attempt, batch_id, status in rows:
                if (request_id, attempt) in wanted:
                    found[(request_id, attempt)] = (batch_id, status)
    return found


def reserve(engine: Engine, plans: Sequence[BatchPlan], *, owner: str, now: float, lease_s: float) -> None:
    """Insert the plans as ``pending`` batches leased to ``owner``, with their members, in one transaction.

    Each batch is recorded with one submit attempt: the reserving worker starts it at once, and a worker
    taking the batch over must first look upstream (the first attempt may have created it).

    :raises ReservationConflict: a batch id or a member is already taken (nothing was written).
    """
    if not plans:
        return
    try:
        with engine.begin() as conn:
            conn.execute(
                batches.insert(),
                [
                    {
                        "id": plan.batch_id,
                        "tenant": plan.tenant,
                        "endpoint": plan.endpoint,
                        "model": plan.model,
                        "status": BatchStatus.PENDING.value,
                        "line_count": len(plan.lines),
                        "byte_count": plan.byte_count,
                        "request_total": len(plan.lines),
                        "request_completed": 0,
                        "request_failed": 0,
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "total_tokens": 0,
                        "submit_attempts": 1,
                        "created_at": now,
                        "cancel_requested": False,
                        "lease_owner": owner,
                        "lease_expires_at": now + lease_s,
                    }
                    for plan in plans
                ],
            )
            conn.execute(
                batch_members.insert(),
                [
                    {
                        "batch_id": plan.batch_id,
                        "request_id": line.request.request_id,
                        "attempt": line.request.attempt,
                        "line_no": line_no,
                        "tenant": line.request.tenant,
                        "reply_topic": line.request.reply_to.topic if line.request.reply_to else None,
                        "reply_partition": line.request.reply_to.partition if line.request.reply_to else None,
                        "request": encode(line.request).decode(),
                        "outcome": None,
                    }
                    for plan in plans
                    for line_no, line in enumerate(plan.lines)
                ],
            )
    except IntegrityError as exc:
        raise ReservationConflict(str(exc.orig)) from exc


def claim(engine: Engine, batch_id: str, *, owner: str, now: float, lease_s: float) -> bool:
    """Take (or renew) the lease on a pending batch; False when another live worker holds it."""
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(
                and_(
                    batches.c.id == batch_id,
                    batches.c.status == BatchStatus.PENDING.value,
                    or_(
                        batches.c.lease_owner.is_(None),
                        batches.c.lease_owner == owner,
                        batches.c.lease_expires_at.is_(None),
                        batches.c.lease_expires_at < now,
                    ),
                )
            )
            .values(lease_owner=owner, lease_expires_at=now + lease_s)
        )
        return result.rowcount == 1


def renew_lease(engine: Engine, batch_id: str, *, owner: str, now: float, lease_s: float, attempts: int) -> bool:
    """Extend our lease and record the attempt count; False when we lost the lease."""
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(
                and_(
                    batches.c.id == batch_id,
                    batches.c.status == BatchStatus.PENDING.value,
                    batches.c.lease_owner == owner,
                )
            )
            .values(lease_expires_at=now + lease_s, submit_attempts=attempts)
        )
        return result.rowcount == 1


def load_pending(engine: Engine, batch_id: str) -> PendingBatch | None:
    """The pending batch with its members in line order, or None when it is no longer pending."""
    with engine.connect() as conn:
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
        if row is None or row["status"] != BatchStatus.PENDING.value:
            return None
        members = conn.execute(
            select(batch_members.c.request)
            .where(batch_members.c.batch_id == batch_id)
            .order_by(batch_members.c.line_no)
        ).scalars()
        messages = tuple(decode(RequestMessage, raw) for raw in members)
    return PendingBatch(
        batch_id=batch_id,
        tenant=row["tenant"],
        endpoint=row["endpoint"],
        model=row["model"],
        created_at=row["created_at"],
        submit_attempts=row["submit_attempts"] or 0,
        requests=messages,
    )


def stale_pending(engine: Engine, *, now: float, limit: int = 100) -> list[str]:
    """Pending batches whose lease has expired (their submitter died), oldest first."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(batches.c.id)
                .where(
                    and_(
                        batches.c.status == BatchStatus.PENDING.value,
                        or_(batches.c.lease_expires_at.is_(None), batches.c.lease_expires_at < now),
                    )
                )
                .order_by(batches.c.created_at)
                .limit(limit)
            ).scalars()
        )
