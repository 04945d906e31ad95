"""The deadline fallback's claim on SQLite and PostgreSQL: one winner per request, against other resolvers and
against the batch's own delivery, and taken again after its owner's lease lapsed."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, select

from batchgpt.store import deadlines
from batchgpt.store.records import ResultRow
from batchgpt.store.tables import late_lines
from schemas import RequestMessage
from schemas.status import ReplyStatus
from tests.collator.harness import request_rows
from tests.store.deadline_rows import admit_with_deadline

T = TypeVar("T")

DEADLINE = 100.0


def _admit(engine: Engine, *request_ids: str, deadline_at: float | None = DEADLINE) -> None:
    """Record ``request_ids`` as the ingress does for calls with a deadline (received at 1.0)."""
    messages = [
        RequestMessage(request_id=rid, body={"model": "m", "messages": []}, received_at=1.0) for rid in request_ids
    ]
    admit_with_deadline(engine, messages, deadline_at=deadline_at)


def _row(request_id: str, text: str = "batch") -> ResultRow:
    return ResultRow(request_id, "default", "completed", 200, json.dumps({"text": text}), 150.0)


def _claimed(engine: Engine, owner: str, now: float = DEADLINE + 1, limit: int = 100) -> set[str]:
    return {c.request_id for c in deadlines.claim_due(engine, owner=owner, now=now, lease_s=30, limit=limit)}


def _all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run ``calls`` in threads released together; their results in order."""
    results: list[T | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_a_request_is_claimed_only_once_its_deadline_passed(db_engine: Engine) -> None:
    _admit(db_engine, "a")
    _admit(db_engine, "b", deadline_at=None)
    assert _claimed(db_engine, "r1", now=DEADLINE - 1) == set()
    [claim] = deadlines.claim_due(db_engine, owner="r1", now=DEADLINE, lease_s=30, limit=10)
    assert (claim.request_id, claim.deadline_at) == ("a", DEADLINE)
    assert json.loads(claim.request_json)["request_id"] == "a"
    assert _claimed(db_engine, "r2") == set()  # r1's lease is live


def test_a_claim_whose_owner_died_is_taken_again_after_its_lease(db_engine: Engine) -> None:
    _admit(db_engine, "a")
    assert _claimed(db_engine, "dead", now=DEADLINE + 1) == {"a"}
    assert _claimed(db_engine, "r2", now=DEADLINE + 20) == set()
    assert _claimed(db_engine, "r2", now=DEADLINE + 32) == {"a"}
    assert not deadlines.renew(db_engine, request_id="a", owner="dead", now=DEADLINE + 33, lease_s=30)
    assert deadlines.renew(db_engine, request_id="a", owner="r2", now=DEADLINE + 33, lease_s=30)


def test_an_answer_stored_but_not_delivered_is_delivered_by_the_next_claimant(db_engine: Engine) -> None:
    _admit(db_engine, "a")
    assert _claimed(db_engine, "dead", now=DEADLINE + 1) == {"a"}
    stored = deadlines.store_answer(db_engine, _row("a", "stored"), answered_by="sync")  # then it died
    assert _claimed(db_engine, "r2", now=DEADLINE + 32) == {"a"}
    assert deadlines.stored_answer(db_engine, "a") == stored


def test_concurrent_resolvers_claim_each_request_once(db_engine: Engine) -> None:
    ids = [f"r{i:02d}" for i in range(30)]
    _admit(db_engine, *ids)
    owners = [f"resolver-{i}" for i in range(6)]
    claims = _all_at_once([lambda owner=owner: _claimed(db_engine, owner) for owner in owners])
    assert sorted(rid for claimed in claims for rid in claimed) == ids


def test_the_batch_and_the_fallback_never_both_deliver(db_engine: Engine) -> None:
    ids = [f"r{i:02d}" for i in range(40)]
    _admit(db_engine, *ids)
    rows = [_row(rid) for rid in ids]

    def batch() -> set[str]:
        late: set[str] = set()
        for start in range(0, len(rows), 5):  # chunk by chunk, as the reply sink does
            late |= deadlines.divert_late(db_engine, batch_id="bg_1", rows=rows[start : start + 5], now=150.0)
        return late

    def fallback(owner: str) -> Callable[[], set[str]]:
        return lambda: set().union(*(_claimed(db_engine, owner, limit=3) for _ in range(8)))

    late, *claims = _all_at_once([batch, fallback("f1"), fallback("f2")])
    claimed = set().union(*claims)
    assert not claims[0] & claims[1]
    assert claimed == late  # every request the fallback took is late for the batch, and only those
    with db_engine.connect() as conn:
        recorded = {r.request_id for r in conn.execute(select(late_lines.c.request_id))}
    assert recorded == late
    for rid in late:
        line = deadlines.late_line(db_engine, rid)
        assert line is not None and (line.request_id, line.status_code, line.body) == (rid, 200, _row(rid).body)
    # once the fallbacks' leases lapse only their own claims are taken again: the batch's are disarmed for good
    assert _claimed(db_engine, "f3", now=DEADLINE + 1000) == claimed


def test_the_stored_answer_is_the_first_one_and_a_finished_fallback_stays_out_of_batches(db_engine: Engine) -> None:
    _admit(db_engine, "a")
    assert _claimed(db_engine, "r1") == {"a"}
    first = deadlines.store_answer(db_engine, _row("a", "first"), answered_by="sync")
    again = deadlines.store_answer(db_engine, _row("a", "second"), answered_by="flex")
    assert again == first
    assert (first.body, first.answered_by, first.status) == ({"text": "first"}, "sync", ReplyStatus.COMPLETED)
    deadlines.finish(db_engine, first, now=200.0)
    row = request_rows(db_engine)["a"]
    assert (row["state"], row["deadline_at"], row["fallback_owner"]) == ("completed", None, "r1")
    assert _claimed(db_engine, "r2", now=DEADLINE + 1000) == set()
    assert deadlines.left_window(db_engine, ["a"], now=0.0) == {"a"}  # a late copy on the topic is dropped
    assert deadlines.divert_late(db_engine, batch_id="bg_1", rows=[_row("a")], now=300.0) == {"a"}
    assert deadlines.late_line(db_engine, "b") is None


def test_requests_past_their_deadline_or_claimed_leave_the_window(db_engine: Engine) -> None:
    _admit(db_engine, "late", deadline_at=10.0)
    _admit(db_engine, "early", deadline_at=50.0)
    _admit(db_engine, "none", deadline_at=None)
    assert deadlines.left_window(db_engine, ["late", "early", "none", "unknown"], now=20.0) == {"late"}
    assert _claimed(db_engine, "r1", now=60.0) == {"late", "early"}
    assert deadlines.left_window(db_engine, ["late", "early", "none"], now=20.0) == {"late", "early"}
