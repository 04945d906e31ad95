"""A provider's webhook in the store, on SQLite and PostgreSQL: our batch found by its upstream id, and an open
batch made due now (a resolved, unknown or already due one left as it is)."""

from __future__ import annotations

from sqlalchemy import Engine

from batchgpt.store import batches, leases
from batchgpt.store.upstream_events import find_batch_id, is_leased, make_due_now
from schemas.status import BatchStatus
from tests.store.test_open_batches import _seen, _submitted


def test_a_batch_is_found_by_its_upstream_id_and_only_ours_are(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a")
    assert find_batch_id(db_engine, f"up_{batch_id}") == batch_id
    assert find_batch_id(db_engine, "batch_someone_elses") is None


def test_a_notice_brings_the_next_poll_forward_once_and_never_for_a_resolved_batch(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a")
    assert not is_leased(db_engine, batch_id, now=3.0)
    assert leases.claim_due(db_engine, owner="r1", now=3.0, lease_seconds=10, limit=5) == [batch_id]
    assert is_leased(db_engine, batch_id, now=4.0)
    assert not is_leased(db_engine, batch_id, now=14.0)  # an expired lease holds nothing
    leases.release(db_engine, batch_id=batch_id, owner="r1", next_poll_at=300.0, cancel_poll_at=300.0)
    assert leases.claim_due(db_engine, owner="r1", now=4.0, lease_seconds=10, limit=5) == []

    assert make_due_now(db_engine, batch_id, now=5.0)
    assert not make_due_now(db_engine, batch_id, now=5.0)  # a re-delivered notice: due already, nothing changes
    assert leases.claim_due(db_engine, owner="r1", now=5.0, lease_seconds=10, limit=5) == [batch_id]
    seen = _seen(BatchStatus.COMPLETED, completed=1)
    batches.record_poll(db_engine, batch_id=batch_id, seen=seen, changed=True, now=5.5, requests_running=False)
    batches.mark_resolved(db_engine, batch_id=batch_id, owner="r1", now=6.0)
    assert not make_due_now(db_engine, batch_id, now=7.0)
    assert not make_due_now(db_engine, "bg_unknown", now=7.0)
    assert leases.claim_due(db_engine, owner="r1", now=7.0, lease_seconds=10, limit=5) == []
