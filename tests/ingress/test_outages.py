"""Dependency outages: a database that is down (or locked) is a 503 with ``Retry-After``, never a 500.

The outage is real: a PostgreSQL cluster of this module's own (``scripts/local_postgres.py`` on a port of
its own) is stopped under a running ingress and started again; the client is the official SDK with its
default retries. SQLite's outage is a database held locked by another connection past the busy timeout.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from openai import DefaultHttpxClient, OpenAI
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc

from batchgpt.simulator.answers import expected_chat_content
from ingress.http.error_rendering import ErrorRenderer
from ingress.metrics import IngressMetrics
from ingress.outages import Dependency, failed_dependency
from tests.ingress.conftest import ALICE, Stack, running_stack
from tests.support.private_postgres import PrivatePostgres, running_private_postgres
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

RETRY_AFTER_S = 5  # long enough for the cluster to come back between the SDK's tries
AUTH = {"Authorization": f"Bearer {ALICE}"}


def _chat(content: str) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    with running_private_postgres() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def outage_stack(cluster: PrivatePostgres, kafka_bootstrap: str) -> Iterator[Stack]:
    with running_stack("postgresql", kafka_bootstrap, cluster.url, retry_after_seconds=RETRY_AFTER_S) as stack:
        yield stack


@pytest.fixture
def database_down(cluster: PrivatePostgres, outage_stack: Stack) -> Iterator[Stack]:
    """The module's cluster stopped for the test (started again after it, if the test did not)."""
    cluster.stop()
    try:
        yield outage_stack
    finally:
        cluster.start()


def _assert_outage(response: httpx.Response, port: int) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["param"] is None
    assert error["code"] == "database_unavailable"
    assert "database" in error["message"].lower()
    assert "127.0.0.1" not in response.text and str(port) not in response.text and "postgres" not in response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["x-should-retry"] == "true"


def test_calls_during_a_database_outage_are_503_and_readyz_names_the_database(
    database_down: Stack, cluster: PrivatePostgres, prompt
) -> None:
    stack, marker = database_down, prompt("outage")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        _assert_outage(http.post("/v1/chat/completions", json=_chat(marker)), cluster.port)  # the fast path
        _assert_outage(http.get("/v1/chat/completions/req_0123456789abcdef"), cluster.port)
        _assert_outage(http.get("/v1/batches"), cluster.port)  # a FastAPI route
        ready = http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    checks = ready.json()["checks"]
    assert checks["database"].startswith("unreachable") and checks["kafka"] == "ok"
    assert stack.stand_in.with_text(marker) == [], "nothing may be published for a call refused with 503"
    refused = stack.ingress.service.metrics.registry.get_sample_value(
        "batchgpt_ingress_requests_rejected_total", {"reason": "database_unavailable"}
    )
    assert refused and refused >= 3


def test_the_sdk_call_during_an_outage_succeeds_once_the_database_is_back(
    database_down: Stack, cluster: PrivatePostgres, prompt
) -> None:
    stack, content = database_down, prompt("retried")
    statuses: list[int] = []
    http_client = DefaultHttpxClient(event_hooks={"response": [lambda response: statuses.append(response.status_code)]})
    client = OpenAI(base_url=f"{stack.base_url}/v1", api_key=ALICE, http_client=http_client)  # default retries
    with ThreadPoolExecutor(max_workers=1) as pool:
        call = pool.submit(
            client.chat.completions.create, model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
        )
        wait_for(lambda: 503 in statuses, timeout_s=30, what="the SDK's first try refused with 503")
        cluster.start()
        completion = call.result(timeout=120)
    assert completion.choices[0].message.content == expected_chat_content(_chat(content))
    assert statuses[0] == 503 and statuses[-1] == 200 and set(statuses) == {503, 200}
    assert len(stack.stand_in.with_text(content)) == 1, "only the try that got through was published"

    # the same ingress serves again, without a restart
    wait_for(lambda: httpx.get(f"{stack.base_url}/readyz", timeout=10).status_code == 200, what="/readyz 200")
    after = prompt("after")
    fresh = stack.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": after}])
    assert fresh.choices[0].message.content == expected_chat_content(_chat(after))


def test_a_sqlite_database_locked_past_its_busy_timeout_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sa_exc.OperationalError) as locked, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.close()
        engine.dispose()
    assert "database is locked" in str(locked.value)
    assert failed_dependency(locked.value) is Dependency.DATABASE

    response = ErrorRenderer(IngressMetrics(), retry_after_seconds=3).render({"path": "/v1/x"}, locked.value)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3" and response.headers["x-should-retry"] == "true"
    assert b'"code":"database_unavailable"' in response.body.replace(b" ", b"")
    assert b"INSERT" not in response.body


def test_a_sqlite_file_that_cannot_be_opened_is_an_outage_and_a_missing_table_is_not(tmp_path: Path) -> None:
    unopenable = create_engine(f"sqlite:///{tmp_path / 'absent' / 'x.sqlite3'}")
    with pytest.raises(sa_exc.OperationalError) as cannot_open, unopenable.connect():
        pass
    assert failed_dependency(cannot_open.value) is Dependency.DATABASE

    engine = create_engine(f"sqlite:///{tmp_path / 'here.sqlite3'}")
    try:
        with pytest.raises(sa_exc.OperationalError) as missing, engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()
    assert failed_dependency(missing.value) is None  # a bug, answered as the 500 it is


def test_an_ingress_on_sqlite_locked_past_its_busy_timeout_answers_503_then_serves_again(
    kafka_bootstrap: str, tmp_path: Path, prompt
) -> None:
    """Another connection holds the database (``BEGIN EXCLUSIVE``) past the engine's busy timeout (30 s)."""
    path = tmp_path / "ingress.sqlite3"
    with running_stack("sqlite", kafka_bootstrap, f"sqlite:///{path}", retry_after_seconds=RETRY_AFTER_S) as stack:
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            marker = prompt("locked")
            with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=120) as http:
                refused = http.post("/v1/chat/completions", json=_chat(marker))
        finally:
            holder.close()
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "database_unavailable"
        assert refused.headers["retry-after"] == str(RETRY_AFTER_S) and refused.headers["x-should-retry"] == "true"
        assert stack.stand_in.with_text(marker) == []

        after = prompt("unlocked")
        fresh = stack.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": after}]
        )
        assert fresh.choices[0].message.content == expected_chat_content(_chat(after))
