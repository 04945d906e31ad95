"""Deadline fallbacks: who answers a request whose ``Batchgpt-Deadline`` passed (exactly one answer).

A request with a deadline has ``deadline_at`` set (by the ingress, while a fallback is on) and its produced
message in ``fallback_request``. Two writers race for its answer, and each takes it with one conditional
UPDATE of the request row, so that only one of them ever delivers:

* the **fallback** (the resolver's deadline sweep) claims it with :func:`claim_due`: ``fallback_owner`` set,
  only while the deadline has passed and is still armed (``deadline_at`` not NULL), the request is not
  finished, and it is either unclaimed with no result or claimed under a lapsed lease (a claimant that died
  after storing its answer left it undelivered: the next one delivers the stored answer);
* the **batch** (the reply sink, before it produces a chunk's replies) disarms it with :func:`divert_late`:
  ``deadline_at`` set to NULL, only while no fallback claimed it. The lines of claimed requests are *late*:
  recorded in ``late_lines`` (member outcome ``late``), never delivered.

Both are conditional UPDATEs of the same row: serialised by SQLite's writer lock, and on PostgreSQL by the
row lock, after which the WHERE is re-checked against the committed row. ``results``' primary key stays the
final arbiter: the fallback stores its answer with an insert that keeps an existing row and then delivers
whatever is stored (:func:`store_answer`), so a fallback claimed twice (its first owner died or stalled past
its lease) still delivers one answer.

The collator leaves out of its windows the requests :func:`left_window` names (deadline passed, or claimed).
Once the fallback delivered, :func:`finish` drops the deadline (``fallback_owner`` stays, marking the request as
the fallback's), so the sweep's index holds only requests still waiting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select, update

from batchgpt.store import members
from batchgpt.store.records import ResultRow
from batchgpt.store.requests import chunks, move_states
from batchgpt.store.tables import late_lines, requests, results
from batchgpt.store.upserts import insert_ignoring_duplicates
from schemas.status import ReplyStatus, RequestState

__all__ = [
    "LATE",
    "FallbackClaim",
    "StoredAnswer",
    "claim_due",
    "divert_late",
    "finish",
    "late_line",
    "left_window",
    "renew",
    "store_answer",
    "stored_answer",
]

LATE = "late"
"""The member outcome of a batch line that came back after the fallback claimed its request."""

_OPEN = tuple(state.value for state in RequestState if not state.is_final)


@dataclass(frozen=True, slots=True)
class FallbackClaim:
    """A request this resolver now answers through the fallback: its produced message (JSON)."""

    request_id: str
    tenant: str
    request_json: str
    deadline_at: float


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The result stored for a request, as its reply carries it."""

    request_id: str
    status: ReplyStatus
    status_code: int
    body: dict[str, Any]
    upstream_request_id: str | None
    answered_by: str | None


def _claimable(now: float) -> Any:
    """Deadline passed and armed, request unfinished, and either never claimed and unanswered, or claimed under a
    lapsed lease (its owner died, perhaps after storing the answer it had yet to deliver)."""
    return and_(
        requests.c.deadline_at.is_not(None),
        requests.c.deadline_at <= now,
        requests.c.fallback_request.is_not(None),
        requests.c.state.in_(_OPEN),
        or_(
            and_(
                requests.c.fallback_owner.is_(None),
                ~exists().where(results.c.request_id == requests.c.request_id),
            ),
            requests.c.fallback_expires_at < now,
        ),
    )


def claim_due(engine: Engine, *, owner: str, now: float, lease_s: float, limit: int) -> list[FallbackClaim]:
    """Claim up to ``limit`` requests whose deadline passed (earliest first) for ``owner``'s fallback."""
    if limit <= 0:
        return []
    due = select(requests.c.request_id).where(_claimable(now)).order_by(requests.c.deadline_at).limit(limit)
    claimed: list[FallbackClaim] = []
    with engine.connect() as conn:
        candidates = [row.request_id for row in conn.execute(due)]
    for request_id in candidates:
        with engine.begin() as conn:
            taken = conn.execute(
                update(requests)
                .where(requests.c.request_id == request_id, _claimable(now))
                .values(fallback_owner=owner, fallback_expires_at=now + lease_s)
            )
            if taken.rowcount != 1:
                continue
            row = conn.execute(
                select(requests.c.tenant, requests.c.fallback_request, requests.c.deadline_at).where(
                    requests.c.request_id == request_id
                )
            ).one()
        claimed.append(FallbackClaim(request_id, row.tenant, row.fallback_request, float(row.deadline_at)))
    return claimed


def renew(engine: Engine, *, request_id: str, owner: str, now: float, lease_s: float) -> bool:
    """Extend ``owner``'s fallback lease on an unfinished request; False when it lost it."""
    with engine.begin() as conn:
        result = conn.execute(
            update(requests)
            .where(
                requests.c.request_id == request_id,
                requests.c.fallback_owner == owner,
                requests.c.state.in_(_OPEN),
            )
            .values(fallback_expires_at=now + lease_s)
        )
        return result.rowcount == 1


_ANSWER_COLUMNS = (
    results.c.request_id,
    results.c.status,
    results.c.status_code,
    results.c.body,
    results.c.upstream_request_id,
    results.c.answered_by,
)


def _answer(row: Any) -> StoredAnswer:
    return StoredAnswer(
        row.request_id,
        ReplyStatus(row.status),
        int(row.status_code),
        json.loads(row.body),
        row.upstream_request_id,
        row.answered_by,
    )


def stored_answer(engine: Engine, request_id: str) -> StoredAnswer | None:
    """The result stored for ``request_id``, if any."""
    with engine.connect() as conn:
        found = conn.execute(select(*_ANSWER_COLUMNS).where(results.c.request_id == request_id)).first()
    return _answer(found) if found is not None else None


def store_answer(engine: Engine, row: ResultRow, *, answered_by: str) -> StoredAnswer:
    """Store the fallback's answer unless a result exists already; the stored result (the one to deliver)."""
    with engine.begin() as conn:
        insert_ignoring_duplicates(
            conn,
            results,
            [
                {
                    "request_id": row.request_id,
                    "tenant": row.tenant,
                    "status": row.status,
                    "status_code": row.status_code,
                    "body": row.body,
                    "batch_id": None,
                    "upstream_batch_id": None,
                    "completed_at": row.completed_at,
                    "expires_at": None,
                    "upstream_request_id": row.upstream_request_id,
                    "answered_by": answered_by,
                }
            ],
            key=["request_id"],
        )
        stored = conn.execute(select(*_ANSWER_COLUMNS).where(results.c.request_id == row.request_id)).one()
    return _answer(stored)


def finish(engine: Engine, answer: StoredAnswer, *, now: float) -> None:
    """The answer was delivered: move the request to its final state and drop its deadline (the sweep's index
    keeps only requests still waiting; ``fallback_owner`` stays, the mark of a fallback's answer)."""
    state = RequestState.COMPLETED if answer.status is ReplyStatus.COMPLETED else RequestState.FAILED
    with engine.begin() as conn:
        move_states(conn, [answer.request_id], state, now=now)
        conn.execute(update(requests).where(requests.c.request_id == answer.request_id).values(deadline_at=None))


def divert_late(engine: Engine, *, batch_id: str, rows: Sequence[ResultRow], now: float) -> set[str]:
    """Before a batch delivers ``rows``: disarm their deadlines, and record (not deliver) the lines whose request
    a fallback claimed first; the late request ids."""
    late: set[str] = set()
    with engine.begin() as conn:
        for part in chunks([r.request_id for r in rows]):
            conn.execute(
                update(requests)
                .where(
                    requests.c.request_id.in_(part),
                    requests.c.deadline_at.is_not(None),
                    requests.c.fallback_owner.is_(None),
                )
                .values(deadline_at=None)
            )
            claimed = select(requests.c.request_id).where(
                requests.c.request_id.in_(part), requests.c.fallback_owner.is_not(None)
            )
            late.update(r.request_id for r in conn.execute(claimed))
        if not late:
            return late
        insert_ignoring_duplicates(
            conn,
            late_lines,
            [
                {
                    "request_id": r.request_id,
                    "batch_id": batch_id,
                    "status": r.status,
                    "status_code": r.status_code,
                    "body": r.body,
                    "upstream_request_id": r.upstream_request_id,
                    "recorded_at": now,
                }
                for r in rows
                if r.request_id in late
            ],
            key=["request_id", "batch_id"],
        )
        members.set_outcome(conn, batch_id=batch_id, request_ids=sorted(late), outcome=LATE)
    return late


def late_line(engine: Engine, request_id: str) -> ResultRow | None:
    """The batch line recorded late for ``request_id`` (the newest), if one came back."""
    query = (
        select(
            late_lines.c.status,
            late_lines.c.status_code,
            late_lines.c.body,
            late_lines.c.upstream_request_id,
            late_lines.c.recorded_at,
        )
        .where(late_lines.c.request_id == request_id)
        .order_by(late_lines.c.recorded_at.desc())
    )
    with engine.connect() as conn:
        found = conn.execute(query).first()
    if found is None:
        return None
    return ResultRow(
        request_id, None, found.status, int(found.status_code), found.body, found.recorded_at, found.upstream_request_id
    )


def left_window(engine: Engine, request_ids: Sequence[str], *, now: float) -> set[str]:
    """Those of ``request_ids`` a batch must not take: their deadline passed, or a fallback claimed them."""
    left: set[str] = set()
    with engine.connect() as conn:
        for part in chunks(list(request_ids)):
            query = select(requests.c.request_id).where(
                requests.c.request_id.in_(part),
                or_(requests.c.deadline_at <= now, requests.c.fallback_owner.is_not(None)),
            )
            left.update(r.request_id for r in conn.execute(query))
    return left
