"""Admitting new requests in groups (ingress's group commit): one transaction looks up and records a whole
group of submissions.

For each submission the transaction finds the request it must reuse (same tenant and
``Idempotency-Key``; else, for an SDK retry, the newest identical request, under way or finished;
else, when the caller may be served a stored result, the newest identical request that completed, or
one under way whose result the caller's replica may have just delivered)
or, when there is none, inserts its ``requests`` row as ``queued``. A fresh call that the cache may
not serve looks nothing up: it is a new request (a new sample).

Looking up and inserting under one lock makes an SDK retry (or a re-used key) that arrives through
another replica or worker at the same instant as its first send resolve to one request:

* PostgreSQL: a transaction-scoped advisory lock per fingerprint and per idempotency key, taken
  in sorted order (no deadlock between two groups);
* SQLite: ``BEGIN IMMEDIATE``, which serialises writers of the database file.

A group whose insert still hits a unique constraint (two idempotency keys whose lock hashes collide
on PostgreSQL, used at the same instant through two replicas) is retried one submission per
transaction: the late one then finds the other's row and reuses it, and only a submission that
fails again on its own gets the error as its outcome.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import IntegrityError

from batchgpt.store.records import RequestRow
from batchgpt.store.requests import COLUMNS
from batchgpt.store.tables import requests
from schemas.status import RequestState

__all__ = [
    "ADMITTED",
    "NOT_FOUND",
    "Admission",
    "Admitted",
    "Identical",
    "NotFound",
    "Outcome",
    "Reuse",
    "admit_group",
    "choose",
]


@dataclass(frozen=True, slots=True)
class Admission:
    """One submission to admit, with the row it would insert."""

    request_id: str
    tenant: str
    endpoint: str
    model: str
    fingerprint: str
    idempotency_key: str | None
    received_at: float
    since: float  # identical requests received before this are not reused
    serve_stored: bool  # a completed identical request may answer this one (the cache allows it, no key)
    may_reuse: bool = True  # False: insert without looking (the one found could not serve)
    may_insert: bool = True  # False: only look (the tenant is at its pending cap)
    reattach: bool = False  # an SDK retry: attach to the newest identical request, under way or finished
    deadline_at: float | None = None  # Batchgpt-Deadline passes (batchgpt.store.deadlines)
    fallback_request: str | None = None  # the produced message (JSON), for the deadline fallback

    @property
    def looks_by_fingerprint(self) -> bool:
        """Whether an identical request may serve this submission at all."""
        return self.may_reuse and (self.reattach or self.serve_stored)


@dataclass(frozen=True, slots=True)
class Reuse:
    """An existing request this submission must attach to, or whose stored result may answer it."""

    row: RequestRow
    via: str  # "idempotency_key", "fingerprint" (an SDK retry) or "cache" (a completed identical request)


@dataclass(frozen=True, slots=True)
class Admitted:
    """The submission's own row was inserted (state ``queued``)."""


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing to reuse, and the submission did not allow an insert."""


ADMITTED = Admitted()
NOT_FOUND = NotFound()
Outcome = Reuse | Admitted | NotFound


@dataclass(slots=True)
class Identical:
    """The identical requests of one fingerprint that may serve: the newest, and the newest that completed."""

    newest: RequestRow
    completed: RequestRow | None


def choose(item: Admission, by_key: RequestRow | None, identical: Identical | None) -> Reuse | None:
    """What to do with ``item`` given the rows found for its key and its fingerprint (None: insert it)."""
    if not item.may_reuse:
        return None
    if by_key is not None:
        return Reuse(by_key, "idempotency_key")
    if identical is None:
        return None
    newest, completed = identical.newest, identical.completed
    if item.reattach and newest.received_at >= item.since:
        return Reuse(newest, "fingerprint")
    if not item.serve_stored:
        return None
    if completed is not None and completed.received_at >= item.since:
        return Reuse(completed, "cache")
    if not newest.final and newest.received_at >= item.since:
        # its result may have been delivered a moment ago, before its row says so: the caller checks
        return Reuse(newest, "cache")
    return None


def _lock_key(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock(conn: Connection, items: Sequence[Admission]) -> None:
    if conn.dialect.name == "postgresql":
        keys = {_lock_key("fp", item.fingerprint) for item in items}
        keys |= {_lock_key("key", item.tenant, item.idempotency_key) for item in items if item.idempotency_key}
        conn.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"),
            {"keys": sorted(keys)},
        )
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _newer(row: RequestRow, current: RequestRow | None) -> bool:
    return current is None or row.received_at > current.received_at


def _identical_by_fingerprint(conn: Connection, items: Sequence[Admission]) -> dict[str, Identical]:
    by_tenant: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.looks_by_fingerprint:
            by_tenant[item.tenant].add(item.fingerprint)
    if not by_tenant:
        return {}
    since = min(item.since for item in items)
    found: dict[str, Identical] = {}
    for tenant, prints in by_tenant.items():
        query = select(*COLUMNS).where(
            requests.c.tenant == tenant, requests.c.fingerprint.in_(prints), requests.c.received_at >= since
        )
        for columns in conn.execute(query):
            row = RequestRow(*columns)
            key = row.fingerprint or ""
            current = found.get(key)
            if current is None:
                current = found[key] = Identical(row, None)
            elif _newer(row, current.newest):
                current.newest = row
            if row.state == RequestState.COMPLETED.value and _newer(row, current.completed):
                current.completed = row
    return found


def _by_key(conn: Connection, items: Sequence[Admission]) -> dict[tuple[str, str], RequestRow]:
    keyed: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.idempotency_key is not None and item.may_reuse:
            keyed[item.tenant].add(item.idempotency_key)
    found: dict[tuple[str, str], RequestRow] = {}
    for tenant, keys in keyed.items():
        query = select(*COLUMNS, requests.c.idempotency_key).where(
            requests.c.tenant == tenant, requests.c.idempotency_key.in_(keys)
        )
        for *columns, key in conn.execute(query):
            found[(tenant, key)] = RequestRow(*columns)
    return found


def _insert_values(item: Admission) -> dict[str, object]:
    return {
        "request_id": item.request_id,
        "tenant": item.tenant,
        "endpoint": item.endpoint,
        "model": item.model[:200],
        "fingerprint": item.fingerprint,
        "idempotency_key": item.idempotency_key,
        "state": RequestState.QUEUED.value,
        "batch_id": None,
        "received_at": item.received_at,
        "updated_at": item.received_at,
        "deadline_at": item.deadline_at,
        "fallback_request": item.fallback_request,
    }


def _admit_in_one_transaction(engine: Engine, items: Sequence[Admission]) -> list[Outcome]:
    with engine.begin() as conn:
        _lock(conn, items)
        identical = _identical_by_fingerprint(conn, items)
        keyed = _by_key(conn, items)
        outcomes: list[Outcome] = []
        inserts: list[dict[str, object]] = []
        for item in items:
            by_key = keyed.get((item.tenant, item.idempotency_key)) if item.idempotency_key else None
            reuse = choose(item, by_key, identical.get(item.fingerprint))
            if reuse is not None:
                outcomes.append(reuse)
            elif not item.may_insert:
                outcomes.append(NOT_FOUND)
            else:
                values = _insert_values(item)
                inserts.append(values)
                row = RequestRow(
                    item.request_id,
                    item.tenant,
                    item.endpoint,
                    item.fingerprint,
                    RequestState.QUEUED.value,
                    None,
                    item.received_at,
                )
                earlier = identical.get(item.fingerprint)  # an SDK retry later in this group attaches to it
                identical[item.fingerprint] = Identical(row, earlier.completed if earlier is not None else None)
                if item.idempotency_key is not None:
                    keyed[(item.tenant, item.idempotency_key)] = row
                outcomes.append(ADMITTED)
        if inserts:
            conn.execute(requests.insert(), inserts)
    return outcomes


def _admit_alone(engine: Engine, item: Admission) -> Outcome | Exception:
    error: Exception | None = None
    for _ in range(2):  # the second look sees the row that beat this one to the constraint
        try:
            return _admit_in_one_transaction(engine, [item])[0]
        except IntegrityError as exc:
            error = exc
    assert error is not None
    return error


def admit_group(engine: Engine, items: Sequence[Admission]) -> list[Outcome | Exception]:
    """Admit ``items`` (normally in one transaction); one outcome per item, in order."""
    try:
        return list(_admit_in_one_transaction(engine, items))
    except IntegrityError:
        return [_admit_alone(engine, item) for item in items]
