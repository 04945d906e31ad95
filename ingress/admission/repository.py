"""The ``requests`` and ``results`` queries ingress owns (sync SQLAlchemy Core; callers use a thread).

Ingress records ``requests`` rows (state ``queued``) before producing, in group transactions
(``ingress.admission``); it deletes a row when Kafka refused the message, reads ``results`` to answer
GETs, the cache and held calls, and purges old results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, select

from batchgpt.tables import requests, results
from ingress.replies.outcomes import Finished
from schemas.status import RequestState

__all__ = [
    "COLUMNS",
    "RequestRow",
    "count_pending",
    "delete_request",
    "find_results",
    "get_request",
    "get_result",
    "purge_expired",
]

_PENDING_STATES = (RequestState.QUEUED.value, RequestState.SUBMITTED.value, RequestState.IN_PROGRESS.value)
_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RequestRow:
    """The parts of a ``requests`` row ingress needs."""

    request_id: str
    tenant: str
    endpoint: str
    fingerprint: str | None
    state: str
    batch_id: str | None
    received_at: float

    @property
    def final(self) -> bool:
        return RequestState(self.state).is_final


COLUMNS = (
    requests.c.request_id,
    requests.c.tenant,
    requests.c.endpoint,
    requests.c.fingerprint,
    requests.c.state,
    requests.c.batch_id,
    requests.c.received_at,
)


def _row(found: object) -> RequestRow | None:
    return RequestRow(*found) if found is not None else None  # type: ignore[misc]


def get_request(engine: Engine, *, request_id: str, tenant: str) -> RequestRow | None:
    """The tenant's request ``request_id`` (None for unknown ids and other tenants' requests)."""
    query = select(*COLUMNS).where(requests.c.request_id == request_id, requests.c.tenant == tenant)
    with engine.connect() as conn:
        return _row(conn.execute(query).first())


def count_pending(engine: Engine, *, tenant: str, since: float) -> int:
    """How many of the tenant's requests received after ``since`` are not finished."""
    query = select(func.count()).where(
        requests.c.tenant == tenant, requests.c.state.in_(_PENDING_STATES), requests.c.received_at >= since
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def delete_request(engine: Engine, *, request_id: str) -> None:
    """Forget a request Kafka never acknowledged (nothing was accepted)."""
    with engine.begin() as conn:
        conn.execute(delete(requests).where(requests.c.request_id == request_id))


def get_result(engine: Engine, *, request_id: str, tenant: str | None = None) -> Finished | None:
    """The stored result of ``request_id`` (restricted to ``tenant`` when given)."""
    query = select(results.c.request_id, results.c.status_code, results.c.body, results.c.tenant).where(
        results.c.request_id == request_id
    )
    with engine.connect() as conn:
        found = conn.execute(query).first()
    if found is None or (tenant is not None and (found.tenant or "default") != tenant):
        return None
    return Finished.from_row(found.request_id, found.status_code, found.body)


def find_results(engine: Engine, request_ids: Iterable[str]) -> list[Finished]:
    """The stored results among ``request_ids`` (queried in chunks by primary key)."""
    ids = list(request_ids)
    found: list[Finished] = []
    with engine.connect() as conn:
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            query = select(results.c.request_id, results.c.status_code, results.c.body).where(
                results.c.request_id.in_(chunk)
            )
            found.extend(Finished.from_row(*row) for row in conn.execute(query))
    return found


def purge_expired(engine: Engine, *, older_than: float) -> int:
    """Delete results completed before ``older_than`` and finished requests received before it."""
    with engine.begin() as conn:
        purged = conn.execute(delete(results).where(results.c.completed_at < older_than)).rowcount or 0
        conn.execute(
            delete(requests).where(
                and_(
                    requests.c.received_at < older_than,
                    requests.c.state.in_((RequestState.COMPLETED.value, RequestState.FAILED.value)),
                )
            )
        )
    return int(purged)
