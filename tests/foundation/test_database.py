"""Migrations and constraints on real SQLite and a real PostgreSQL server (every test runs on both)."""

from __future__ import annotations

import threading
import time

import pytest
from alembic import command
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from batchgpt.store.engine import alembic_config, make_engine, migrate, ping
from batchgpt.store.tables import batch_members, batches, requests, results

pytestmark = pytest.mark.integration


def _batch_row(batch_id: str) -> dict[str, object]:
    return {
        "id": batch_id, "tenant": "default", "endpoint": "/v1/chat/completions", "model": "gpt-4o-mini",
        "status": "pending", "line_count": 1, "byte_count": 10, "created_at": time.time(),
    }  # fmt: skip


def _member(batch_id: str, request_id: str, attempt: int = 0) -> dict[str, object]:
    return {
        "batch_id": batch_id, "request_id": request_id, "attempt": attempt, "line_no": 0, "tenant": "default",
        "request": "{}",
    }  # fmt: skip


def test_migrations_create_every_table(db_engine: Engine) -> None:
    ping(db_engine)
    names = set(inspect(db_engine).get_table_names())
    assert {"batches", "batch_members", "requests", "results", "alembic_version"} <= names


def test_the_migrated_schema_matches_the_table_declarations(db_engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from batchgpt.store.tables import metadata

    with db_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert "upstream_request_id" in {c["name"] for c in inspect(db_engine).get_columns("results")}


def test_migration_is_idempotent_and_reversible(db_engine: Engine) -> None:
    migrate(db_engine)  # already at head: a no-op
    command.downgrade(alembic_config(db_engine), "base")
    assert "batches" not in inspect(db_engine).get_table_names()
    migrate(db_engine)
    assert "batches" in inspect(db_engine).get_table_names()


def test_concurrent_migrations_from_several_processes_are_safe(database_url: str) -> None:
    errors: list[BaseException] = []

    def _run() -> None:
        engine = make_engine(database_url)
        try:
            migrate(engine)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=_run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_a_request_can_be_in_only_one_batch_per_attempt(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        conn.execute(insert(batches), [_batch_row("b1"), _batch_row("b2")])
        conn.execute(insert(batch_members), [_member("b1", "r1")])
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(insert(batch_members), [_member("b2", "r1")])
    with db_engine.begin() as conn:  # a resubmission is a new attempt
        conn.execute(insert(batch_members), [_member("b2", "r1", attempt=1)])
        rows = conn.execute(select(batch_members.c.batch_id).where(batch_members.c.request_id == "r1")).all()
    assert sorted(r[0] for r in rows) == ["b1", "b2"]


def test_batch_ids_and_upstream_ids_are_unique(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        conn.execute(insert(batches), [{**_batch_row("b1"), "upstream_batch_id": "batch_x"}])
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(insert(batches), [_batch_row("b1")])
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(insert(batches), [{**_batch_row("b2"), "upstream_batch_id": "batch_x"}])


def test_idempotency_keys_are_unique_per_tenant(db_engine: Engine) -> None:
    now = time.time()
    row = {
        "tenant": "t1", "endpoint": "/v1/chat/completions", "model": "m", "idempotency_key": "k",
        "state": "queued", "received_at": now, "updated_at": now,
    }  # fmt: skip
    with db_engine.begin() as conn:
        conn.execute(insert(requests), [{**row, "request_id": "a"}, {**row, "request_id": "b", "tenant": "t2"}])
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(insert(requests), [{**row, "request_id": "c"}])


def test_results_store_large_bodies(db_engine: Engine) -> None:
    body = '{"x": "' + "y" * 2_000_000 + '"}'
    with db_engine.begin() as conn:
        conn.execute(
            insert(results),
            [{"request_id": "r", "status": "completed", "status_code": 200, "body": body, "completed_at": 1.0}],
        )
        stored = conn.execute(select(results.c.body)).scalar_one()
    assert stored == body
