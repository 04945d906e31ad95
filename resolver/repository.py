"""The resolver's SQL (leases apart, in :mod:`resolver.leases`): status changes, members, results, cancel flag.

Synchronous SQLAlchemy Core on the shared engine (the worker calls it through ``asyncio.to_thread``);
every statement works on SQLite and PostgreSQL; every write is idempotent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from batchgpt.tables import batch_members, batches, requests, results
from batchgpt.upstream import UpstreamBatch
from resolver.records import BatchRow, MemberRow, ResultRow
from schemas import BatchStatus, RequestState

__all__ = [
    "BatchRow",
    "MemberRow",
    "ResultRow",
    "count_by_status",
    "forget_file",
    "load_batch",
    "mark_gone",
    "member_requests",
    "mark_resolved",
    "open_members",
    "record_tokens",
    "request_cancel",
    "store_chunk",
    "update_status",
]

_IN_CHUNK = 500  # ids per IN (...) list


def _batch_row(row: Any) -> BatchRow:
    errors = json.loads(row.errors) if row.errors else []
    return BatchRow(
        id=row.id,
        upstream_batch_id=row.upstream_batch_id,
        tenant=row.tenant,
        endpoint=row.endpoint,
        model=row.model,
        status=BatchStatus(row.status),
        output_file_id=row.output_file_id or None,
        error_file_id=row.error_file_id or None,
        errors=errors if isinstance(errors, list) else [],
        cancel_requested=bool(row.cancel_requested),
        terminal_at=row.terminal_at,
        resolved_at=row.resolved_at,
        next_poll_at=row.next_poll_at,
        line_count=row.line_count,
        request_completed=row.request_completed or 0,
        request_failed=row.request_failed or 0,
        input_tokens=row.input_tokens or 0,
        output_tokens=row.output_tokens or 0,
    )


def load_batch(engine: Engine, batch_id: str) -> BatchRow | None:
    """One batch, or ``None``."""
    with engine.connect() as conn:
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
    return _batch_row(row) if row is not None else None


def update_status(
    engine: Engine, *, batch_id: str, update_: UpstreamBatch, changed: bool, now: float, requests_running: bool = False
) -> None:
    """Record what a poll saw: status, counts, file ids, errors, tokens (``changed``: the status moved).

    With ``requests_running`` the batch's unanswered requests move to ``in_progress`` in the same transaction.
    """
    values: dict[str, Any] = {
        "status": update_.status.value,
        "request_total": update_.total,
        "request_completed": update_.completed,
        "request_failed": update_.failed,
    }
    if update_.output_file_id:
        values["output_file_id"] = update_.output_file_id
    if update_.error_file_id:
        values["error_file_id"] = update_.error_file_id
    if update_.errors is not None:
        values["errors"] = json.dumps(update_.errors)
    if update_.input_tokens is not None and update_.output_tokens is not None:
        values["input_tokens"] = update_.input_tokens
        values["output_tokens"] = update_.output_tokens
        values["total_tokens"] = update_.input_tokens + update_.output_tokens
    if changed:
        values["status_changed_at"] = now
        if update_.status.is_terminal:
            values["terminal_at"] = now
    with engine.begin() as conn:
        conn.execute(update(batches).where(batches.c.id == batch_id).values(**values))
        if requests_running:
            _move_requests_in_progress(conn, batch_id=batch_id, now=now)


def mark_gone(engine: Engine, *, batch_id: str, message: str, now: float) -> None:
    """Record that the upstream no longer knows the batch: ``failed`` with a ``batch_not_found`` error."""
    errors = [{"code": "batch_not_found", "message": message, "param": None, "line": None}]
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id)
            .values(status=BatchStatus.FAILED.value, errors=json.dumps(errors), status_changed_at=now, terminal_at=now)
        )


def forget_file(engine: Engine, *, batch_id: str, file_id: str) -> None:
    """Drop a result file the upstream no longer has (its members then get ``missing_result``)."""
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.output_file_id == file_id)
            .values(output_file_id=None)
        )
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.error_file_id == file_id)
            .values(error_file_id=None)
        )


def record_tokens(engine: Engine, *, batch_id: str, input_tokens: int, output_tokens: int) -> None:
    """Store token totals summed from the lines (when the batch object carried no usage)."""
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id)
            .values(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens)
        )


def _move_requests_in_progress(conn: Any, *, batch_id: str, now: float) -> int:
    """Move the batch's unanswered requests from queued/submitted to ``in_progress``; return how many."""
    members = select(batch_members.c.request_id).where(
        batch_members.c.batch_id == batch_id, batch_members.c.outcome.is_(None)
    )
    result = conn.execute(
        update(requests)
        .where(
            requests.c.request_id.in_(members),
            requests.c.state.in_([RequestState.QUEUED.value, RequestState.SUBMITTED.value]),
        )
        .values(state=RequestState.IN_PROGRESS.value, updated_at=now)
    )
    return int(result.rowcount or 0)


def open_members(engine: Engine, *, batch_id: str) -> list[MemberRow]:
    """The batch's members that have no outcome yet (not answered, not resubmitted)."""
    m = batch_members.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.request_id, m.attempt, m.line_no, m.tenant, m.reply_topic, m.reply_partition, m.outcome)
            .where(m.batch_id == batch_id, m.outcome.is_(None))
            .order_by(batch_members.c.line_no)
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
        for part in _chunks(request_ids):
            rows = conn.execute(
                select(batch_members.c.request_id, batch_members.c.request).where(
                    batch_members.c.batch_id == batch_id, batch_members.c.request_id.in_(part)
                )
            )
            found.update({row.request_id: row.request for row in rows})
    return found


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _insert_results_ignoring_duplicates(conn: Any, rows: list[dict[str, Any]]) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(results).on_conflict_do_nothing(index_elements=["request_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(results).on_conflict_do_nothing(index_elements=["request_id"])
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(results)
    conn.execute(stmt, rows)


def store_chunk(
    engine: Engine,
    *,
    batch_id: str,
    upstream_batch_id: str | None,
    rows: Sequence[ResultRow],
    outcomes: Mapping[str, Sequence[str]],
    request_states: Mapping[str, Sequence[str]],
    now: float,
) -> None:
    """In one transaction: results (first one kept), member outcomes, and request states."""
    with engine.begin() as conn:
        if rows:
            _insert_results_ignoring_duplicates(
                conn,
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
                    }
                    for r in rows
                ],
            )
        for outcome, ids in outcomes.items():
            for part in _chunks(ids):
                conn.execute(
                    update(batch_members)
                    .where(batch_members.c.batch_id == batch_id, batch_members.c.request_id.in_(part))
                    .values(outcome=outcome)
                )
        for state, ids in request_states.items():
            for part in _chunks(ids):
                conn.execute(
                    update(requests).where(requests.c.request_id.in_(part)).values(state=state, updated_at=now)
                )


def mark_resolved(engine: Engine, *, batch_id: str, owner: str, now: float) -> None:
    """Set ``resolved_at`` and drop the lease: every member was answered or resubmitted."""
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id)
            .values(resolved_at=now, lease_owner=None, lease_expires_at=None, next_poll_at=None)
        )


def request_cancel(engine: Engine, batch_id: str, *, now: float | None = None) -> bool:
    """Ask the resolver to cancel a batch upstream (ingress calls this); ``False`` if unknown or resolved.

    Sets ``cancel_requested`` and makes the batch due at once; the resolver sends the cancel, follows the
    batch to ``cancelled`` and answers every member (unfinished lines get ``batch_cancelled``).
    """
    at = time.time() if now is None else now
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.resolved_at.is_(None))
            .values(cancel_requested=True, next_poll_at=at)
        )
    return bool(result.rowcount)


def count_by_status(engine: Engine) -> dict[str, int]:
    """Number of open (not yet resolved) batches per status, for the ``batches by state`` gauge."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(batches.c.status, func.count()).where(batches.c.resolved_at.is_(None)).group_by(batches.c.status)
        ).all()
    return {str(status): int(n) for status, n in rows}
