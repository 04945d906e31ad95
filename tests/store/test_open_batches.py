"""The resolver's and ingress's part of the store on SQLite and PostgreSQL: polls, answers, resolution, cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from batchgpt.store import batches, leases, members, requests, results
from batchgpt.store.errors import LeaseLost
from batchgpt.store.records import ResultRow
from batchgpt.store.tables import requests as requests_table
from batchgpt.store.tables import results as results_table
from batchgpt.store.upserts import insert_ignoring_duplicates
from batchgpt.upstream.records import UpstreamBatch
from collator.planning import plan_window
from schemas.messages import RequestMessage
from schemas.status import BatchStatus, RequestState
from tests.collator.harness import batch_rows, member_rows, request_rows


def _seen(status: BatchStatus, **seen: Any) -> UpstreamBatch:
    """What a poll of a two-line batch saw: the upstream edge's record, as the resolver passes it."""
    return UpstreamBatch(**{"id": "batch_up", "status": status, "created_at": 1.0, "total": 2, **seen})


def _submitted(engine: Engine, *rids: str, status: BatchStatus = BatchStatus.VALIDATING) -> str:
    """Reserve and submit one batch of ``rids`` as the collator does; its id."""
    [plan] = plan_window(
        [RequestMessage(request_id=r, body={"model": "m", "messages": []}, received_at=1.0) for r in rids],
        max_requests=100,
        max_bytes=1_000_000,
    ).batches
    batches.reserve(engine, [plan], owner="c1", now=1.0, lease_s=10)
    pending = batches.load_pending(engine, plan.batch_id)
    assert pending is not None
    assert batches.mark_submitted(
        engine, pending, upstream_batch_id=f"up_{plan.batch_id}", input_file_id="f", status=status, attempts=1, now=2.0
    )
    return plan.batch_id


def _row(request_id: str, code: int = 200) -> ResultRow:
    status = "completed" if code == 200 else "failed"
    return ResultRow(request_id, "default", status, code, json.dumps({"n": code}), 5.0)


def test_a_poll_records_counts_and_moves_unanswered_requests_in_progress(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a", "b")
    seen = _seen(BatchStatus.IN_PROGRESS, completed=1, input_tokens=3, output_tokens=4)
    assert batches.record_poll(db_engine, batch_id=batch_id, seen=seen, changed=True, now=3.0, requests_running=True)
    row = batches.load_batch(db_engine, batch_id)
    assert row is not None and row.status is BatchStatus.IN_PROGRESS and row.request_completed == 1
    assert (row.input_tokens, row.output_tokens) == (3, 4)
    assert {v["state"] for v in request_rows(db_engine).values()} == {"in_progress"}


def test_a_poll_never_moves_a_terminal_batch_to_another_status(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a")
    assert batches.record_poll(
        db_engine, batch_id=batch_id, seen=_seen(BatchStatus.COMPLETED, output_file_id="o"), changed=True, now=3.0
    )
    assert batches.record_poll(
        db_engine, batch_id=batch_id, seen=_seen(BatchStatus.COMPLETED, completed=1), changed=False, now=4.0
    )  # the same status again: counts are re-read
    assert not batches.record_poll(db_engine, batch_id=batch_id, seen=_seen(BatchStatus.FAILED), changed=True, now=5.0)
    row = batches.load_batch(db_engine, batch_id)
    assert row is not None and row.status is BatchStatus.COMPLETED and row.terminal_at == 3.0
    assert row.output_file_id == "o" and row.request_completed == 1


def test_stored_answers_keep_the_first_result_and_never_reopen_a_final_request(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a", "b")
    results.store_answers(
        db_engine,
        batch_id=batch_id,
        upstream_batch_id="up",
        rows=[_row("a")],
        outcomes={"completed": ["a"], "resubmitted": ["b"]},
        request_states={RequestState.COMPLETED: ["a"], RequestState.QUEUED: ["b"]},
        now=6.0,
    )
    # a chunk stored again after a crash (same replies), and a late contradicting write
    results.store_answers(
        db_engine,
        batch_id=batch_id,
        upstream_batch_id="up",
        rows=[_row("a", 502)],
        outcomes={"failed": ["a"]},
        request_states={RequestState.FAILED: ["a"]},
        now=7.0,
    )
    stored = results.get_result(db_engine, request_id="a")
    assert stored is not None and stored.status_code == 200 and json.loads(stored.body) == {"n": 200}
    assert results.get_result(db_engine, request_id="a", tenant="someone-else") is None
    assert [r.request_id for r in results.find_results(db_engine, ["a", "b", "zz"])] == ["a"]
    states = {k: v["state"] for k, v in request_rows(db_engine).items()}
    assert states == {"a": "completed", "b": "queued"}
    assert {m["request_id"]: m["outcome"] for m in member_rows(db_engine)} == {"a": "failed", "b": "resubmitted"}
    assert members.open_members(db_engine, batch_id=batch_id) == []


def test_the_upsert_ignores_duplicates_on_both_databases(db_engine: Engine) -> None:
    row = {
        "request_id": "x",
        "tenant": "t",
        "status": "completed",
        "status_code": 200,
        "body": "{}",
        "batch_id": None,
        "upstream_batch_id": None,
        "completed_at": 1.0,
        "expires_at": None,
    }
    with db_engine.begin() as conn:
        insert_ignoring_duplicates(conn, results_table, [row], key=["request_id"])
        insert_ignoring_duplicates(
            conn, results_table, [{**row, "status_code": 500}, {**row, "request_id": "y"}], key=["request_id"]
        )
        insert_ignoring_duplicates(conn, results_table, [], key=["request_id"])
    with db_engine.connect() as conn:
        found = {r.request_id: r.status_code for r in conn.execute(select(results_table))}
    assert found == {"x": 200, "y": 200}


def test_only_the_lease_holder_resolves_and_only_a_terminal_batch(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a")
    assert leases.claim_due(db_engine, owner="r1", now=3.0, lease_seconds=10, limit=5) == [batch_id]
    with pytest.raises(LeaseLost):  # not terminal yet
        batches.mark_resolved(db_engine, batch_id=batch_id, owner="r1", now=4.0)
    batches.record_poll(db_engine, batch_id=batch_id, seen=_seen(BatchStatus.COMPLETED), changed=True, now=4.0)
    with pytest.raises(LeaseLost):
        batches.mark_resolved(db_engine, batch_id=batch_id, owner="r2", now=5.0)
    with pytest.raises(LeaseLost):
        leases.renew(db_engine, batch_id=batch_id, owner="r2", now=5.0, lease_seconds=10)
    batches.mark_resolved(db_engine, batch_id=batch_id, owner="r1", now=6.0)
    [row] = batch_rows(db_engine)
    assert row["resolved_at"] == 6.0 and row["lease_owner"] is None
    assert leases.claim_due(db_engine, owner="r2", now=7.0, lease_seconds=10, limit=5) == []


def test_cancel_flags_only_a_batch_that_is_not_terminal(db_engine: Engine) -> None:
    open_id = _submitted(db_engine, "a")
    done_id = _submitted(db_engine, "b")
    batches.record_poll(db_engine, batch_id=done_id, seen=_seen(BatchStatus.EXPIRED), changed=True, now=3.0)
    flagged = batches.request_cancel(db_engine, batch_id=open_id, tenant="default", now=9.0)
    assert flagged is not None and flagged["cancel_requested"] and flagged["next_poll_at"] == 9.0
    # finished but not resolved yet: unchanged (ingress answers 409), its expired lines are still resubmitted
    untouched = batches.request_cancel(db_engine, batch_id=done_id, now=9.0)
    assert untouched is not None and not untouched["cancel_requested"] and untouched["resolved_at"] is None
    assert batches.request_cancel(db_engine, batch_id=open_id, tenant="other", now=9.0) is None
    assert batches.request_cancel(db_engine, batch_id="bg_unknown", now=9.0) is None


def test_request_reads_and_purge(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        conn.execute(
            insert(requests_table),
            [
                {
                    "request_id": rid,
                    "tenant": "t",
                    "endpoint": "/v1/chat/completions",
                    "model": "m",
                    "state": state,
                    "received_at": at,
                    "updated_at": at,
                }
                for rid, state, at in (("q", "queued", 10.0), ("d", "completed", 1.0), ("o", "queued", 1.0))
            ],
        )
    assert requests.count_pending(db_engine, tenant="t", since=5.0) == 1
    found = requests.get_request(db_engine, request_id="q", tenant="t")
    assert found is not None and not found.final and found.state == "queued"
    assert requests.get_request(db_engine, request_id="q", tenant="other") is None
    results.purge_expired(db_engine, older_than=5.0)
    assert set(request_rows(db_engine)) == {"q", "o"}  # only finished requests are purged
    requests.delete_request(db_engine, request_id="q")
    assert set(request_rows(db_engine)) == {"o"}


def test_a_result_keeps_the_upstream_request_id_of_its_line(db_engine: Engine) -> None:
    batch_id = _submitted(db_engine, "a", "b")
    answered = ResultRow("a", "default", "completed", 200, json.dumps({"n": 200}), 5.0, "req_upstream_a")
    results.store_answers(
        db_engine,
        batch_id=batch_id,
        upstream_batch_id="up",
        rows=[answered, _row("b", 504)],
        outcomes={"completed": ["a"], "failed": ["b"]},
        request_states={RequestState.COMPLETED: ["a"], RequestState.FAILED: ["b"]},
        now=6.0,
    )
    stored = results.get_result(db_engine, request_id="a")
    assert stored is not None and stored.upstream_request_id == "req_upstream_a"
    found = {r.request_id: r.upstream_request_id for r in results.find_results(db_engine, ["a", "b"])}
    assert found == {"a": "req_upstream_a", "b": None}


def test_renew_held_extends_only_the_leases_the_owner_still_holds(db_engine: Engine) -> None:
    ids = {_submitted(db_engine, "a"), _submitted(db_engine, "b"), _submitted(db_engine, "c")}
    assert set(leases.claim_due(db_engine, owner="r1", now=3.0, lease_seconds=10, limit=5)) == ids
    [taken] = leases.claim_due(db_engine, owner="r2", now=14.0, lease_seconds=10, limit=1)  # r1's leases lapsed
    released, kept = sorted(ids - {taken})
    leases.release(db_engine, batch_id=released, owner="r1", next_poll_at=99.0, cancel_poll_at=99.0)

    assert leases.renew_held(db_engine, ids, owner="r1", now=20.0, lease_s=10) == {kept}
    leases_now = {r["id"]: (r["lease_owner"], r["lease_expires_at"]) for r in batch_rows(db_engine)}
    assert leases_now == {kept: ("r1", 30.0), taken: ("r2", 24.0), released: (None, None)}
    assert leases.renew_held(db_engine, [], owner="r1", now=21.0, lease_s=10) == set()
