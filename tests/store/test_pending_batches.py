"""The collator's part of the store on SQLite and PostgreSQL: reservations, leases, submissions, give-ups."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, insert, select

from batchgpt.store import batches, leases, members
from batchgpt.store.errors import ReservationConflict
from batchgpt.store.tables import requests, results
from collator.planning import BatchPlan, plan_window
from schemas.messages import RequestMessage
from schemas.status import BatchStatus
from schemas.submission import SubmissionFailure
from tests.collator.harness import batch_rows, member_rows, request_rows


def _req(rid: str, model: str = "gpt-4o-mini") -> RequestMessage:
    return RequestMessage(request_id=rid, body={"model": model, "messages": []}, received_at=1.0)


def _plans(*rids: str, cap: int = 100) -> tuple[BatchPlan, ...]:
    return plan_window([_req(r) for r in rids], max_requests=cap, max_bytes=1_000_000).batches


def test_reserve_writes_pending_batches_with_members_in_line_order(db_engine: Engine) -> None:
    plans = _plans("a", "b", "c", cap=2)
    batches.reserve(db_engine, plans, owner="w1", now=100.0, lease_s=10)
    rows = {r["id"]: r for r in batch_rows(db_engine)}
    assert set(rows) == {p.batch_id for p in plans}
    assert {r["status"] for r in rows.values()} == {"pending"}
    assert all(r["lease_owner"] == "w1" and r["lease_expires_at"] == 110.0 for r in rows.values())
    assert rows[plans[0].batch_id]["line_count"] == 2 and rows[plans[0].batch_id]["byte_count"] == plans[0].byte_count
    loaded = batches.load_pending(db_engine, plans[0].batch_id)
    assert loaded is not None and [r.request_id for r in loaded.requests] == ["a", "b"]
    assert members.existing_members(db_engine, [("a", 0), ("c", 0), ("a", 1), ("z", 0)]) == {
        ("a", 0): (plans[0].batch_id, "pending"), ("c", 0): (plans[1].batch_id, "pending")}


def test_a_request_can_never_be_reserved_in_two_batches(db_engine: Engine) -> None:
    batches.reserve(db_engine, _plans("a", "b"), owner="w1", now=1.0, lease_s=10)
    with pytest.raises(ReservationConflict):
        batches.reserve(db_engine, _plans("b", "c"), owner="w2", now=1.0, lease_s=10)
    assert sorted(m["request_id"] for m in member_rows(db_engine)) == ["a", "b"]
    assert len(batch_rows(db_engine)) == 1


def test_leases_keep_other_workers_off_until_they_expire(db_engine: Engine) -> None:
    [plan] = _plans("a")
    batches.reserve(db_engine, [plan], owner="w1", now=100.0, lease_s=10)
    assert leases.claim_pending(db_engine, plan.batch_id, owner="w2", now=105.0, lease_s=10) is False
    assert leases.claim_pending(db_engine, plan.batch_id, owner="w1", now=105.0, lease_s=10) is True
    assert leases.stale_pending(db_engine, now=114.0) == []
    assert leases.stale_pending(db_engine, now=116.0) == [plan.batch_id]
    assert leases.claim_pending(db_engine, plan.batch_id, owner="w2", now=116.0, lease_s=10) is True
    assert leases.renew_pending(db_engine, plan.batch_id, owner="w1", now=117.0, lease_s=10, attempts=1) is False
    assert leases.renew_pending(db_engine, plan.batch_id, owner="w2", now=117.0, lease_s=10, attempts=2) is True
    assert batch_rows(db_engine)[0]["submit_attempts"] == 2


def test_mark_submitted_records_upstream_and_moves_requests_to_submitted(db_engine: Engine) -> None:
    with db_engine.begin() as conn:  # ingress's row for "a"; "b" came from a direct producer
        conn.execute(insert(requests).values(request_id="a", tenant="default", endpoint="/v1/chat/completions",
                                             model="gpt-4o-mini", state="queued", received_at=1.0, updated_at=1.0))
    [plan] = _plans("a", "b")
    batches.reserve(db_engine, [plan], owner="w1", now=10.0, lease_s=10)
    pending = batches.load_pending(db_engine, plan.batch_id)
    assert pending is not None
    assert batches.mark_submitted(db_engine, pending, upstream_batch_id="batch_1", input_file_id="file-1",
                                  status=BatchStatus.VALIDATING, attempts=1, now=20.0) is True
    [row] = batch_rows(db_engine)
    assert (row["status"], row["upstream_batch_id"], row["input_file_id"], row["lease_owner"]) == (
        "validating", "batch_1", "file-1", None)
    assert row["submitted_at"] == 20.0 and row["resolved_at"] is None
    states = request_rows(db_engine)
    assert {k: (v["state"], v["batch_id"]) for k, v in states.items()} == {
        "a": ("submitted", plan.batch_id), "b": ("submitted", plan.batch_id)}
    assert states["b"]["model"] == "gpt-4o-mini" and states["b"]["tenant"] == "default"
    assert batches.load_pending(db_engine, plan.batch_id) is None
    assert batches.mark_submitted(db_engine, pending, upstream_batch_id="batch_2", input_file_id="file-2",
                                  status=BatchStatus.VALIDATING, attempts=1, now=21.0) is False


def test_mark_submitted_never_moves_a_finished_request(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        conn.execute(insert(requests).values(request_id="a", tenant="default", endpoint="/v1/chat/completions",
                                             model="gpt-4o-mini", state="completed", received_at=1.0, updated_at=1.0))
    [plan] = _plans("a")
    batches.reserve(db_engine, [plan], owner="w1", now=10.0, lease_s=10)
    pending = batches.load_pending(db_engine, plan.batch_id)
    assert pending is not None
    batches.mark_submitted(db_engine, pending, upstream_batch_id="batch_1", input_file_id="file-1",
                           status=BatchStatus.VALIDATING, attempts=1, now=20.0)
    assert request_rows(db_engine)["a"]["state"] == "completed"


def test_a_pending_batch_cannot_be_recorded_as_pending_again(db_engine: Engine) -> None:
    [plan] = _plans("a")
    batches.reserve(db_engine, [plan], owner="w1", now=10.0, lease_s=10)
    pending = batches.load_pending(db_engine, plan.batch_id)
    assert pending is not None
    with pytest.raises(ValueError):
        batches.mark_submitted(db_engine, pending, upstream_batch_id="batch_1", input_file_id=None,
                               status=BatchStatus.PENDING, attempts=1, now=20.0)


def test_a_submission_give_up_records_the_error_and_leaves_answering_to_the_resolver(db_engine: Engine) -> None:
    [plan] = _plans("a", "b")
    batches.reserve(db_engine, [plan], owner="w1", now=10.0, lease_s=10)
    pending = batches.load_pending(db_engine, plan.batch_id)
    assert pending is not None
    failure = SubmissionFailure(message="files.create: HTTP 503", rejected=False, upstream_status=503)
    assert batches.mark_submit_failed(db_engine, pending, errors=[failure.to_error()], attempts=3, now=30.0) is True
    [row] = batch_rows(db_engine)
    assert row["status"] == "failed" and row["resolved_at"] is None and row["request_failed"] == 2
    assert row["terminal_at"] == 30.0 and row["next_poll_at"] == 30.0 and row["lease_owner"] is None
    assert row["upstream_batch_id"] is None and row["submit_attempts"] == 3
    assert SubmissionFailure.from_errors(json.loads(row["errors"])) == failure
    assert {m["outcome"] for m in member_rows(db_engine)} == {None}  # nobody answered yet
    assert {v["state"] for v in request_rows(db_engine).values()} == {"queued"}  # direct producers get rows
    with db_engine.connect() as conn:
        assert conn.execute(select(results)).all() == []
    # the resolver finds it (no upstream batch, yet open) ...
    assert leases.claim_due(db_engine, owner="r1", now=31.0, lease_seconds=10, limit=5) == [plan.batch_id]
    # ... and a second give-up of the same batch changes nothing
    assert batches.mark_submit_failed(db_engine, pending, errors=[], attempts=4, now=40.0) is False
