"""Session fixtures: a real Kafka broker, per-test topics and groups, SQLite and PostgreSQL engines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from batchgpt.kafka import ensure_topics
from batchgpt.settings import KafkaSettings
from batchgpt.store.engine import make_engine, migrate
from tests.support.broker import session_broker
from tests.support.databases import temporary_postgres_database

DB_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The session's broker address. An unreachable or unstartable broker fails the run, never skips it."""
    try:
        with session_broker(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")) as (bootstrap, _how):
            yield bootstrap
    except (OSError, RuntimeError, TimeoutError) as exc:  # pragma: no cover - a broken machine
        pytest.fail(f"no Kafka broker for the tests: {exc}", pytrace=False)


@pytest.fixture
def unique_id() -> str:
    """A short unique suffix for names made by one test."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, unique_id: str) -> KafkaSettings:
    """Kafka settings with a topic prefix of this test's own, its four topics created (2 partitions)."""
    settings = KafkaSettings(kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{unique_id}.", topic_partitions=2)
    ensure_topics(settings)
    return settings


@pytest.fixture
def consumer_group(unique_id: str) -> str:
    """A consumer group id of this test's own."""
    return f"g-{unique_id}"


def _postgres_admin_url() -> str:
    url = os.environ.get("BATCHGPT_TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "BATCHGPT_TEST_POSTGRES_URL is not set: start PostgreSQL with `python scripts/local_postgres.py start` "
            "(the README's test command does this)",
            pytrace=False,
        )
    return url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, unique_id: str) -> Iterator[str]:
    """A fresh, empty database URL: SQLite file, or a new PostgreSQL database (param ``sqlite``/``postgresql``)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'batchgpt.sqlite3'}"
        return
    with temporary_postgres_database(_postgres_admin_url()) as url:
        yield url


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database."""
    engine = make_engine(database_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the database once on SQLite and once on PostgreSQL."""
    if "database_url" in metafunc.fixturenames and not any(
        m.name == "parametrize" and "database_url" in m.args[0] for m in metafunc.definition.iter_markers()
    ):
        metafunc.parametrize("database_url", DB_BACKENDS, indirect=True)
