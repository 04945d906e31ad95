"""Group admission on a real database (SQLite and PostgreSQL): reuse decisions, inserts, and the cross-replica lock."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

from sqlalchemy import Engine, func, insert, select, update

from batchgpt.store.admission import ADMITTED, NOT_FOUND, Admission, Reuse, admit_group
from batchgpt.store.engine import make_engine, migrate
from batchgpt.store.tables import requests
from schemas.status import RequestState

TTL_S = 3600.0


def _item(fingerprint: str = "f" * 64, *, key: str | None = None, tenant: str = "t1", **changes: object) -> Admission:
    now = time.time()
    item = Admission(
        request_id=f"req_{uuid.uuid4().hex}",
        tenant=tenant,
        endpoint="/v1/chat/completions",
        model="gpt-4o-mini",
        fingerprint=fingerprint,
        idempotency_key=key,
        received_at=now,
        since=now - TTL_S,
        serve_stored=key is None,
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def _count(engine: Engine, **where: str) -> int:
    query = select(func.count()).select_from(requests)
    for column, value in where.items():
        query = query.where(requests.c[column] == value)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _finish(engine: Engine, request_id: str, state: RequestState = RequestState.COMPLETED) -> None:
    with engine.begin() as conn:
        conn.execute(update(requests).where(requests.c.request_id == request_id).values(state=state.value))


def test_a_new_submission_is_recorded_as_queued(db_engine: Engine) -> None:
    item = _item()
    assert admit_group(db_engine, [item]) == [ADMITTED]
    with db_engine.connect() as conn:
        row = conn.execute(select(requests).where(requests.c.request_id == item.request_id)).one()
    assert (row.tenant, row.fingerprint, row.state, row.model) == ("t1", item.fingerprint, "queued", "gpt-4o-mini")


def test_an_sdk_retry_of_a_submission_in_flight_is_reused_not_recorded(db_engine: Engine) -> None:
    first = _item()
    admit_group(db_engine, [first])
    [outcome] = admit_group(db_engine, [_item(reattach=True)])
    assert isinstance(outcome, Reuse) and outcome.via == "fingerprint"
    assert outcome.row.request_id == first.request_id and not outcome.row.final
    assert _count(db_engine) == 1


def test_a_fresh_identical_submission_in_flight_is_a_new_request(db_engine: Engine) -> None:
    first = _item()
    admit_group(db_engine, [first])
    assert admit_group(db_engine, [_item(serve_stored=False)]) == [ADMITTED]  # a new sample
    assert _count(db_engine) == 2
    # one the cache may serve is shown the request under way (its result may have just been delivered)
    [outcome] = admit_group(db_engine, [_item()])
    assert isinstance(outcome, Reuse) and outcome.via == "cache" and not outcome.row.final


def test_a_finished_identical_request_serves_only_when_a_stored_answer_may_be_used(db_engine: Engine) -> None:
    first = _item()
    admit_group(db_engine, [first])
    _finish(db_engine, first.request_id)
    [cached] = admit_group(db_engine, [_item()])
    assert isinstance(cached, Reuse) and cached.via == "cache" and cached.row.request_id == first.request_id
    fresh = _item(serve_stored=False)
    assert admit_group(db_engine, [fresh]) == [ADMITTED]
    assert _count(db_engine) == 2


def test_a_failed_identical_request_is_never_served_to_a_fresh_call_but_a_retry_attaches(db_engine: Engine) -> None:
    first = _item()
    admit_group(db_engine, [first])
    _finish(db_engine, first.request_id, RequestState.FAILED)
    [retry] = admit_group(db_engine, [_item(reattach=True)])
    assert isinstance(retry, Reuse) and retry.via == "fingerprint" and retry.row.state == "failed"
    assert admit_group(db_engine, [_item()]) == [ADMITTED]


def test_identical_requests_older_than_the_result_ttl_are_not_reused(db_engine: Engine) -> None:
    old = _item(received_at=time.time() - 2 * TTL_S)
    admit_group(db_engine, [old])
    assert admit_group(db_engine, [_item()]) == [ADMITTED]


def test_the_same_idempotency_key_reuses_its_request_whatever_the_body(db_engine: Engine) -> None:
    first = _item(key="k-1")
    admit_group(db_engine, [first])
    [outcome] = admit_group(db_engine, [_item("e" * 64, key="k-1")])
    assert isinstance(outcome, Reuse) and outcome.via == "idempotency_key"
    assert outcome.row.request_id == first.request_id and outcome.row.fingerprint == "f" * 64  # the caller compares
    other_tenant = _item("e" * 64, key="k-1", tenant="t2")
    assert admit_group(db_engine, [other_tenant]) == [ADMITTED]


def test_at_the_cap_a_submission_only_looks(db_engine: Engine) -> None:
    assert admit_group(db_engine, [_item(may_insert=False)]) == [NOT_FOUND]
    assert _count(db_engine) == 0
    first = _item()
    admit_group(db_engine, [first])
    [outcome] = admit_group(db_engine, [_item(may_insert=False, reattach=True)])
    assert isinstance(outcome, Reuse) and outcome.row.request_id == first.request_id


def test_insert_only_records_even_when_an_identical_request_is_in_flight(db_engine: Engine) -> None:
    admit_group(db_engine, [_item()])
    assert admit_group(db_engine, [_item(may_reuse=False, reattach=True)]) == [ADMITTED]
    assert _count(db_engine, fingerprint="f" * 64) == 2


def test_one_group_records_many_and_an_identical_pair_within_it_shares_one_request(db_engine: Engine) -> None:
    items = [_item(f"{i:064x}") for i in range(200)]
    twin = _item(f"{7:064x}", serve_stored=False, reattach=True)  # an SDK retry in the same group
    outcomes = admit_group(db_engine, [*items, twin])
    assert outcomes[:200] == [ADMITTED] * 200
    assert isinstance(outcomes[200], Reuse) and outcomes[200].row.request_id == items[7].request_id
    assert _count(db_engine) == 200


def test_a_colliding_row_fails_only_its_own_submission(db_engine: Engine) -> None:
    taken = _item("a" * 64)
    admit_group(db_engine, [taken])
    clash = _item("b" * 64, request_id=taken.request_id)  # same primary key, different request
    fine = _item("c" * 64)
    outcomes = admit_group(db_engine, [clash, fine])
    assert isinstance(outcomes[0], Exception)
    assert outcomes[1] == ADMITTED
    assert _count(db_engine) == 2


def test_identical_first_sends_through_two_replicas_at_once_make_one_request(database_url: str) -> None:
    """Two engines (two replicas) admit the same new fingerprints concurrently (a send and its SDK retry):
    each becomes exactly one row."""
    engines = [make_engine(database_url), make_engine(database_url)]
    migrate(engines[0])
    try:
        prints = [f"{uuid.uuid4().hex}{i:032x}" for i in range(30)]
        outcomes: dict[int, list[object]] = {}
        start = threading.Barrier(2)

        def replica(index: int) -> None:
            start.wait()
            found: list[object] = []
            for print_ in prints:  # one group per fingerprint, racing the other replica on each
                found.extend(admit_group(engines[index], [_item(print_, reattach=True)]))
            outcomes[index] = found

        threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert all(not t.is_alive() for t in threads)
        for position, print_ in enumerate(prints):
            assert _count(engines[0], fingerprint=print_) == 1
            pair = [outcomes[0][position], outcomes[1][position]]
            assert sorted(type(o).__name__ for o in pair) == ["Admitted", "Reuse"]
    finally:
        for engine in engines:
            engine.dispose()


def test_a_key_already_inserted_by_another_writer_is_reused(db_engine: Engine) -> None:
    existing = _item(key="k-2")
    with db_engine.begin() as conn:
        conn.execute(
            insert(requests).values(
                request_id=existing.request_id, tenant="t1", endpoint=existing.endpoint, model="m",
                fingerprint=existing.fingerprint, idempotency_key="k-2", state="submitted", batch_id=None,
                received_at=existing.received_at, updated_at=existing.received_at,
            )
        )  # fmt: skip
    [outcome] = admit_group(db_engine, [_item(key="k-2")])
    assert (
        isinstance(outcome, Reuse)
        and outcome.row.request_id == existing.request_id
        and outcome.row.state == "submitted"
    )
