"""``batches`` rows: one function per transition, and the reads of the services and the HTTP API.

Transitions (the status checks follow :mod:`schemas.transitions`)::

    reserve              (none) -> pending, leased to the reserving collator worker, with its members
    mark_submitted       pending -> the upstream status; requests -> submitted
    mark_submit_failed   pending -> failed (never reached upstream), the error recorded, NOT resolved:
                         the resolver answers its members (the one service that answers callers)
    record_poll          an open status -> what the poll saw (counts, files, errors, tokens)
    mark_gone            any unresolved status -> failed (``batch_not_found``: upstream forgot it)
    mark_resolved        terminal -> resolved (every member answered or resubmitted), lease holder only
    request_cancel       not terminal -> cancel requested (the resolver carries it out)
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from batchgpt.store.errors import LeaseLost, ReservationConflict
from batchgpt.store.members import insert_members
from batchgpt.store.records import BatchRow, BatchToReserve, PendingBatch, PolledBatch
from batchgpt.store.requests import move_batch_in_progress, record_states
from batchgpt.store.tables import batch_members, batches
from schemas.codec import decode
from schemas.messages import RequestMessage
from schemas.status import BatchStatus, Endpoint, Provider, RequestState
from schemas.transitions import batch_sources, may_move_batch

__all__ = [
    "count_open_by_status",
    "forget_file",
    "get_batch",
    "list_batches",
    "load_batch",
    "load_pending",
    "mark_gone",
    "mark_resolved",
    "mark_submit_failed",
    "mark_submitted",
    "record_poll",
    "record_tokens",
    "request_cancel",
    "reserve",
]

_TERMINAL = tuple(status.value for status in BatchStatus if status.is_terminal)


def reserve(engine: Engine, plans: Sequence[BatchToReserve], *, owner: str, now: float, lease_s: float) -> None:
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
                        "provider": Endpoint(plan.endpoint).provider.value,
                        "model": plan.model,
                        "status": BatchStatus.PENDING.value,
                        "line_count": len(plan.members),
                        "byte_count": plan.byte_count,
                        "request_total": len(plan.members),
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
            insert_members(conn, plans)
    except IntegrityError as exc:
        raise ReservationConflict(str(exc.orig)) from exc


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


def _from_pending(batch_id: str, target: BatchStatus) -> Any:
    """The WHERE of a move of a still pending batch to ``target`` (which the transition table must allow)."""
    if not may_move_batch(BatchStatus.PENDING, target):
        raise ValueError(f"a pending batch may not become {target.value}")
    return and_(batches.c.id == batch_id, batches.c.status == BatchStatus.PENDING.value)


def mark_submitted(
    engine: Engine,
    batch: PendingBatch,
    *,
    upstream_batch_id: str,
    input_file_id: str | None,
    status: BatchStatus,
    attempts: int,
    now: float,
) -> bool:
    """Record the upstream batch on the pending row and move its requests to ``submitted``, in one transaction.

    Returns False (and changes nothing) when the row was no longer pending.
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(_from_pending(batch.batch_id, status))
            .values(
                status=status.value,
                upstream_batch_id=upstream_batch_id,
                input_file_id=input_file_id,
                submit_attempts=attempts,
                submitted_at=now,
                status_changed_at=now,
                lease_owner=None,
                lease_expires_at=None,
                next_poll_at=now,
            )
        )
        if result.rowcount != 1:
            return False
        record_states(conn, batch.requests, RequestState.SUBMITTED, batch_id=batch.batch_id, now=now)
    return True


def mark_submit_failed(
    engine: Engine, batch: PendingBatch, *, errors: Sequence[Mapping[str, Any]], attempts: int, now: float
) -> bool:
    """Record that a pending batch could not be submitted: ``failed`` with ``errors``, due for the resolver now.

    It is not resolved and no result is stored: the resolver answers every member from ``errors`` (it
    needs no upstream batch for that). ``requests`` rows missing for a direct producer's requests are
    inserted as ``queued``. Returns False (and changes nothing) when the row was no longer pending.
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(_from_pending(batch.batch_id, BatchStatus.FAILED))
            .values(
                status=BatchStatus.FAILED.value,
                errors=json.dumps(list(errors)),
                submit_attempts=attempts,
                request_failed=batches.c.line_count,
                status_changed_at=now,
                terminal_at=now,
                next_poll_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        if result.rowcount != 1:
            return False
        record_states(conn, batch.requests, RequestState.QUEUED, batch_id=batch.batch_id, now=now)
    return True


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
        input_file_id=row.input_file_id or None,
        provider=row.provider or Provider.OPENAI.value,
    )


def load_batch(engine: Engine, batch_id: str) -> BatchRow | None:
    """One batch, or ``None``."""
    with engine.connect() as conn:
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
    return _batch_row(row) if row is not None else None


def record_poll(
    engine: Engine, *, batch_id: str, seen: PolledBatch, changed: bool, now: float, requests_running: bool = False
) -> bool:
    """Record what a poll saw: status, counts, file ids, errors, tokens (``changed``: the status moved).

    With ``requests_running`` the batch's unanswered requests move to ``in_progress`` in the same transaction.
    Returns False (nothing written) when the batch's status may not move to the one seen.
    """
    values: dict[str, Any] = {
        "status": seen.status.value,
        "request_total": seen.total,
        "request_completed": seen.completed,
        "request_failed": seen.failed,
    }
    if seen.output_file_id:
        values["output_file_id"] = seen.output_file_id
    if seen.error_file_id:
        values["error_file_id"] = seen.error_file_id
    if seen.errors is not None:
        values["errors"] = json.dumps(seen.errors)
    if seen.input_tokens is not None and seen.output_tokens is not None:
        values["input_tokens"] = seen.input_tokens
        values["output_tokens"] = seen.output_tokens
        values["total_tokens"] = seen.input_tokens + seen.output_tokens
    if changed:
        values["status_changed_at"] = now
        if seen.status.is_terminal:
            values["terminal_at"] = now
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.status.in_(batch_sources(seen.status)))
            .values(**values)
        )
        if result.rowcount != 1:
            return False
        if requests_running:
            move_batch_in_progress(conn, batch_id=batch_id, now=now)
    return True


def mark_gone(engine: Engine, *, batch_id: str, message: str, now: float) -> None:
    """Record that the upstream no longer knows the batch: ``failed`` with a ``batch_not_found`` error.

    Allowed from any unresolved status (also a terminal one not seen by a poll yet), so nobody waits forever.
    """
    errors = [{"code": "batch_not_found", "message": message, "param": None, "line": None}]
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.resolved_at.is_(None))
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


def mark_resolved(engine: Engine, *, batch_id: str, owner: str, now: float) -> None:
    """Set ``resolved_at`` and drop the lease: every member was answered or resubmitted.

    Only the lease holder may resolve, and only a terminal batch is resolved.

    :raises LeaseLost: ``owner`` does not hold the lease (another worker took the batch over).
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(
                batches.c.id == batch_id,
                batches.c.lease_owner == owner,
                batches.c.status.in_(_TERMINAL),
                batches.c.resolved_at.is_(None),
            )
            .values(resolved_at=now, lease_owner=None, lease_expires_at=None, next_poll_at=None)
        )
    if result.rowcount != 1:
        raise LeaseLost(batch_id)


def request_cancel(
    engine: Engine, *, batch_id: str, tenant: str | None = None, now: float | None = None
) -> Mapping[str, Any] | None:
    """Ask the resolver to cancel a batch (``tenant``: only one of theirs); the row afterwards, None if unknown.

    The one predicate is **status not terminal**, as the contract's ``POST /v1/batches/{id}/cancel``
    has it (409 once the batch finished): a terminal batch cannot be cancelled upstream, and flagging
    one that finished but is not resolved yet would silently turn the resubmission of its expired lines
    into ``batch_cancelled`` answers while the caller is told 409. (``resolved_at IS NULL``, the other
    predicate once used, would have done exactly that.) A terminal batch is returned unchanged, so the
    caller decides between 200 and 409; a ``pending`` one is flagged and cancelled once it is upstream.

    Sets ``cancel_requested`` and makes the batch due at once; the resolver sends the cancel, follows the
    batch to ``cancelled`` and answers every member (unfinished lines get ``batch_cancelled``).
    """
    at = time.time() if now is None else now
    own = batches.c.id == batch_id if tenant is None else and_(batches.c.id == batch_id, batches.c.tenant == tenant)
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(own, batches.c.status.not_in(_TERMINAL))
            .values(cancel_requested=True, next_poll_at=at)
        )
        row = conn.execute(select(batches).where(own)).mappings().first()
    return dict(row) if row is not None else None


def _of_tenant(tenant: str | None) -> Any:
    """The condition "the batch is ``tenant``'s" (every batch for ``None``: an administrator's view)."""
    return batches.c.tenant == tenant if tenant is not None else true()


def get_batch(engine: Engine, *, tenant: str | None, batch_id: str) -> Mapping[str, Any] | None:
    """The tenant's batch ``batch_id`` (None when unknown or another tenant's; any tenant's for ``None``)."""
    query = select(batches).where(batches.c.id == batch_id, _of_tenant(tenant))
    with engine.connect() as conn:
        found = conn.execute(query).mappings().first()
    return dict(found) if found is not None else None


def list_batches(
    engine: Engine, *, tenant: str | None, after: str | None, limit: int
) -> tuple[list[Mapping[str, Any]], bool]:
    """Up to ``limit`` of the tenant's batches (everyone's for ``None``), newest first, after the batch id
    ``after``; and ``has_more``."""
    query = select(batches).where(_of_tenant(tenant))
    with engine.connect() as conn:
        if after:
            cursor = conn.execute(select(batches.c.created_at).where(batches.c.id == after, _of_tenant(tenant))).first()
            if cursor is not None:
                query = query.where(
                    or_(
                        batches.c.created_at < cursor.created_at,
                        and_(batches.c.created_at == cursor.created_at, batches.c.id < after),
                    )
                )
        query = query.order_by(batches.c.created_at.desc(), batches.c.id.desc()).limit(limit + 1)
        rows: list[Mapping[str, Any]] = [dict(row) for row in conn.execute(query).mappings()]
    return rows[:limit], len(rows) > limit


def count_open_by_status(engine: Engine) -> dict[str, int]:
    """Number of open (not yet resolved) batches per status, for the ``batches by state`` gauge."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(batches.c.status, func.count()).where(batches.c.resolved_at.is_(None)).group_by(batches.c.status)
        ).all()
    return {str(status): int(n) for status, n in rows}
