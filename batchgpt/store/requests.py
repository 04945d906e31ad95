"""``requests`` rows: reading them for the HTTP API and moving their state.

Every state write goes through :func:`move_states`, whose ``WHERE state IN (...)`` is the set of
states :mod:`schemas.transitions` allows to move to the target, so a late or repeated write never
takes a request backwards or out of a final state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, and_, delete, func, select, update

from batchgpt.store.records import RequestRow
from batchgpt.store.tables import batch_members, requests
from batchgpt.store.upserts import insert_ignoring_duplicates
from schemas.messages import RequestMessage
from schemas.status import RequestState
from schemas.transitions import request_sources

__all__ = [
    "COLUMNS",
    "chunks",
    "count_pending",
    "delete_request",
    "get_request",
    "move_batch_in_progress",
    "move_states",
    "purge_finished",
    "record_states",
]

IN_CHUNK = 500
"""Ids per ``IN (...)`` list."""

_FINAL = tuple(state.value for state in RequestState if state.is_final)
_OPEN = tuple(state.value for state in RequestState if not state.is_final)

COLUMNS = (
    requests.c.request_id,
    requests.c.tenant,
    requests.c.endpoint,
    requests.c.fingerprint,
    requests.c.state,
    requests.c.batch_id,
    requests.c.received_at,
)
"""The columns of a :class:`~batchgpt.store.records.RequestRow`, in order."""


def chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    """``ids`` cut into lists short enough for one ``IN (...)``."""
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def get_request(engine: Engine, *, request_id: str, tenant: str) -> RequestRow | None:
    """The tenant's request ``request_id`` (None for unknown ids and other tenants' requests)."""
    query = select(*COLUMNS).where(requests.c.request_id == request_id, requests.c.tenant == tenant)
    with engine.connect() as conn:
        found = conn.execute(query).first()
    return RequestRow(*found) if found is not None else None


def count_pending(engine: Engine, *, tenant: str, since: float) -> int:
    """How many of the tenant's requests received after ``since`` are not finished."""
    query = select(func.count()).where(
        requests.c.tenant == tenant, requests.c.state.in_(_OPEN), requests.c.received_at >= since
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def delete_request(engine: Engine, *, request_id: str) -> None:
    """Forget a request Kafka never acknowledged (nothing was accepted)."""
    with engine.begin() as conn:
        conn.execute(delete(requests).where(requests.c.request_id == request_id))


def move_states(
    conn: Connection, request_ids: Sequence[str], target: RequestState, *, now: float, batch_id: str | None = None
) -> None:
    """Move the requests that may go to ``target`` there (others are left as they are)."""
    values: dict[str, object] = {"state": target.value, "updated_at": now}
    if batch_id is not None:
        values["batch_id"] = batch_id
    sources = request_sources(target)
    for part in chunks(request_ids):
        conn.execute(
            update(requests)
            .where(and_(requests.c.request_id.in_(part), requests.c.state.in_(sources)))
            .values(**values)
        )


def record_states(
    conn: Connection, messages: Sequence[RequestMessage], target: RequestState, *, batch_id: str, now: float
) -> None:
    """Insert the missing ``requests`` rows (a direct producer's request has none) and move the rest to ``target``."""
    insert_ignoring_duplicates(
        conn,
        requests,
        [
            {
                "request_id": m.request_id,
                "tenant": m.tenant,
                "endpoint": m.endpoint.value,
                "model": m.model,
                "state": target.value,
                "batch_id": batch_id,
                "received_at": m.received_at,
                "updated_at": now,
            }
            for m in messages
        ],
        key=["request_id"],
    )
    move_states(conn, [m.request_id for m in messages], target, now=now, batch_id=batch_id)


def move_batch_in_progress(conn: Connection, *, batch_id: str, now: float) -> int:
    """Move the batch's unanswered requests to ``in_progress`` (from the states allowed to); return how many."""
    members = select(batch_members.c.request_id).where(
        batch_members.c.batch_id == batch_id, batch_members.c.outcome.is_(None)
    )
    result = conn.execute(
        update(requests)
        .where(
            requests.c.request_id.in_(members),
            requests.c.state.in_(request_sources(RequestState.IN_PROGRESS)),
        )
        .values(state=RequestState.IN_PROGRESS.value, updated_at=now)
    )
    return int(result.rowcount or 0)


def purge_finished(conn: Connection, *, older_than: float) -> None:
    """Delete the finished requests received before ``older_than``."""
    conn.execute(delete(requests).where(requests.c.received_at < older_than, requests.c.state.in_(_FINAL)))
