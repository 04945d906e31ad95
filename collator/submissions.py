"""Recording how a submission ended: the upstream batch on the pending row, or a give-up with its replies.

Both write in one transaction and only while the row is still ``pending``; ``requests`` rows are
upserted (a direct producer's request has none until now) and never moved out of a final state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, Table, and_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert

from batchgpt.tables import batch_members, batches, requests, results
from collator.repository import PendingBatch
from schemas.messages import ReplyMessage, RequestMessage
from schemas.status import BatchStatus, RequestState

__all__ = ["mark_failed", "mark_submitted"]

_CHUNK = 500
_FINAL_STATES = (RequestState.COMPLETED.value, RequestState.FAILED.value)


def _insert(conn: Connection, table: Table) -> Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _set_request_states(
    conn: Connection, messages: Sequence[RequestMessage], *, state: RequestState, batch_id: str, now: float
) -> None:
    """Insert missing ``requests`` rows (direct producers) and move the others to ``state``."""
    rows = [
        {
            "request_id": m.request_id,
            "tenant": m.tenant,
            "endpoint": m.endpoint.value,
            "model": m.model,
            "state": state.value,
            "batch_id": batch_id,
            "received_at": m.received_at,
            "updated_at": now,
        }
        for m in messages
    ]
    if rows:
        conn.execute(_insert(conn, requests).on_conflict_do_nothing(index_elements=["request_id"]), rows)
    for chunk_start in range(0, len(messages), _CHUNK):
        ids = [m.request_id for m in messages[chunk_start : chunk_start + _CHUNK]]
        conn.execute(
            update(requests)
            .where(and_(requests.c.request_id.in_(ids), requests.c.state.not_in(_FINAL_STATES)))
            .values(state=state.value, batch_id=batch_id, updated_at=now)
        )


def mark_submitted(
    engine: Engine,
    batch: PendingBatch,
    *,
    upstream_batch_id: str,
    input_file_id: str | None,
    status: str,
    attempts: int,
    now: float,
) -> bool:
    """Record the upstream batch on the pending row and move its requests to ``submitted``.

    Returns False (and changes nothing) when the row was no longer pending.
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(batches)
            .where(and_(batches.c.id == batch.batch_id, batches.c.status == BatchStatus.PENDING.value))
            .values(
                status=status,
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
        _set_request_states(conn, batch.requests, state=RequestState.SUBMITTED, batch_id=batch.batch_id, now=now)
    return True


def mark_failed(
    engine: Engine, batch: PendingBatch, *, error: str, replies: Sequence[ReplyMessage], attempts: int, now: float
) -> None:
    """Close a batch that could not be submitted: failed, resolved, members answered with ``replies``."""
    with engine.begin() as conn:
        conn.execute(
            update(batches)
            .where(and_(batches.c.id == batch.batch_id, batches.c.status == BatchStatus.PENDING.value))
            .values(
                status=BatchStatus.FAILED.value,
                errors=json.dumps([{"code": "submission_failed", "message": error}]),
                submit_attempts=attempts,
                request_failed=len(batch.requests),
                status_changed_at=now,
                terminal_at=now,
                resolved_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        conn.execute(
            update(batch_members).where(batch_members.c.batch_id == batch.batch_id).values(outcome="failed")
        )
        if replies:
            conn.execute(
                _insert(conn, results).on_conflict_do_nothing(index_elements=["request_id"]),
                [
                    {
                        "request_id": reply.request_id,
                        "tenant": reply.tenant,
                        "status": reply.status.value,
                        "status_code": reply.status_code,
                        "body": json.dumps(reply.body),
                        "batch_id": reply.batch_id,
                        "upstream_batch_id": None,
                        "completed_at": reply.completed_at,
                        "expires_at": None,
                    }
                    for reply in replies
                ],
            )
        _set_request_states(conn, batch.requests, state=RequestState.FAILED, batch_id=batch.batch_id, now=now)
