"""``results`` rows: storing an answered chunk (with member outcomes and request states), and the reads
the HTTP API serves from; ``purge_expired`` drops old results and finished requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, delete, select

from batchgpt.store import members
from batchgpt.store.records import ResultRow, StoredResult
from batchgpt.store.requests import chunks, move_states, purge_finished
from batchgpt.store.tables import results
from batchgpt.store.upserts import insert_ignoring_duplicates
from schemas.status import RequestState

__all__ = ["find_results", "get_result", "purge_expired", "store_answers"]


def store_answers(
    engine: Engine,
    *,
    batch_id: str,
    upstream_batch_id: str | None,
    rows: Sequence[ResultRow],
    outcomes: Mapping[str, Sequence[str]],
    request_states: Mapping[RequestState, Sequence[str]],
    now: float,
) -> None:
    """In one transaction: the delivered replies as ``results`` (the first one kept), member outcomes, request states.

    Called only once Kafka acknowledged the replies of the chunk (never before), by the reply sink.
    """
    with engine.begin() as conn:
        insert_ignoring_duplicates(
            conn,
            results,
            [
                {
                    "request_id": r.request_id,
                    "tenant": r.tenant,
                    "status": r.status,
                    "status_code": r.status_code,
                    "body": r.body,
                    "batch_id": batch_id,
                    "upstream_batch_id": upstream_batch_id,
                    "completed_at": r.completed_at,
                    "expires_at": None,
                    "upstream_request_id": r.upstream_request_id,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "answered_by": "batch",
                }
                for r in rows
            ],
            key=["request_id"],
        )
        for outcome, ids in outcomes.items():
            members.set_outcome(conn, batch_id=batch_id, request_ids=ids, outcome=outcome)
        for state, ids in request_states.items():
            move_states(conn, ids, state, now=now)


_SERVED = (results.c.request_id, results.c.status_code, results.c.body, results.c.upstream_request_id)
"""The columns of a :class:`StoredResult`."""


def _served(row: Any) -> StoredResult:
    """A row of :data:`_SERVED` columns as a :class:`StoredResult`."""
    return StoredResult(row.request_id, int(row.status_code), row.body, row.upstream_request_id)


def get_result(engine: Engine, *, request_id: str, tenant: str | None = None) -> StoredResult | None:
    """The stored result of ``request_id`` (restricted to ``tenant`` when given)."""
    query = select(*_SERVED, results.c.tenant).where(results.c.request_id == request_id)
    with engine.connect() as conn:
        found = conn.execute(query).first()
    if found is None or (tenant is not None and (found.tenant or "default") != tenant):
        return None
    return _served(found)


def find_results(engine: Engine, request_ids: Iterable[str]) -> list[StoredResult]:
    """The stored results among ``request_ids`` (queried in chunks by primary key)."""
    found: list[StoredResult] = []
    with engine.connect() as conn:
        for part in chunks(list(request_ids)):
            query = select(*_SERVED).where(results.c.request_id.in_(part))
            found.extend(_served(r) for r in conn.execute(query))
    return found


def purge_expired(engine: Engine, *, older_than: float) -> int:
    """Delete results completed before ``older_than`` and finished requests received before it; results purged."""
    with engine.begin() as conn:
        purged = conn.execute(delete(results).where(results.c.completed_at < older_than)).rowcount or 0
        purge_finished(conn, older_than=older_than)
    return int(purged)
