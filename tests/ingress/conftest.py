"""Fixtures of the ingress tests: one stack per test module and database backend.

A stack is a fresh topic prefix on the session broker, a fresh database (SQLite file or a new
PostgreSQL database), the pipeline stand-in, and one ingress served by uvicorn on 127.0.0.1.
Tests isolate themselves inside a stack with unique prompts.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI
from sqlalchemy import Engine

from batchgpt.kafka import ensure_topics
from batchgpt.settings import KafkaSettings
from batchgpt.store.admission import ADMITTED, Admission, admit_group
from batchgpt.store.engine import make_engine, migrate
from ingress.admission.fingerprint import fingerprint
from ingress.http.auth import tenant_of
from ingress.settings import IngressSettings
from schemas.messages import body_model
from schemas.status import Endpoint
from tests.ingress.servers import ThreadedIngress
from tests.ingress.stand_in import PipelineStandIn
from tests.support.databases import temporary_postgres_database

ALICE, BOB = "sk-alice-0123456789", "sk-bob-9876543210"


@contextlib.contextmanager
def provision_database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh database URL on ``backend`` (``sqlite`` or ``postgresql``), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'ingress.sqlite3'}"
        return
    admin_raw = os.environ.get("BATCHGPT_TEST_POSTGRES_URL")
    if not admin_raw:
        pytest.fail("BATCHGPT_TEST_POSTGRES_URL is not set (python scripts/local_postgres.py start)", pytrace=False)
    with temporary_postgres_database(admin_raw, prefix="bgt_ing") as url:
        yield url


@dataclass
class Stack:
    """Broker topics, database, stand-in and the module's ingress."""

    backend: str
    kafka: KafkaSettings
    database_url: str
    engine: Engine
    stand_in: PipelineStandIn
    ingress: ThreadedIngress
    extra: list[ThreadedIngress] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.ingress.base_url

    def settings(self, **overrides: Any) -> IngressSettings:
        """Ingress settings on this stack's broker topics and database."""
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": self.kafka.kafka_bootstrap_servers,
            "topic_prefix": self.kafka.topic_prefix,
            "topic_partitions": 2,
            "database_url": self.database_url,
            "api_keys": f"{ALICE},{BOB}",
            "max_wait_seconds": 8.0,
            "result_recheck_seconds": 0.5,
            "retry_after_seconds": 1,
            "log_format": "text",
        }
        values.update(overrides)
        return IngressSettings.model_validate(values)

    def client(self, key: str = ALICE, base_url: str | None = None, **kwargs: Any) -> OpenAI:
        """The official sync SDK pointed at an ingress."""
        kwargs.setdefault("max_retries", 0)
        return OpenAI(base_url=f"{base_url or self.base_url}/v1", api_key=key, **kwargs)

    def async_client(self, key: str = ALICE, base_url: str | None = None, **kwargs: Any) -> AsyncOpenAI:
        """The official async SDK pointed at an ingress."""
        kwargs.setdefault("max_retries", 0)
        return AsyncOpenAI(base_url=f"{base_url or self.base_url}/v1", api_key=key, **kwargs)

    def record_without_producing(
        self, endpoint: Endpoint, body: dict[str, Any], *, received_at: float, key: str = ALICE
    ) -> str:
        """Record ``body``'s request as a replica killed between recording a call and producing it leaves it: the
        row alone (through the store's admission, as the ingress writes it), nothing on Kafka. Its id."""
        tenant = tenant_of(key)
        recorded = Admission(
            request_id=f"req_{uuid.uuid4().hex}",
            tenant=tenant,
            endpoint=endpoint.value,
            model=body_model(body),
            fingerprint=fingerprint(tenant, endpoint.value, body),
            idempotency_key=None,
            received_at=received_at,
            since=0.0,
            serve_stored=False,
        )
        assert admit_group(self.engine, [recorded]) == [ADMITTED]
        return recorded.request_id


@contextlib.contextmanager
def running_stack(backend: str, kafka_bootstrap: str, url: str, **ingress_settings: Any) -> Iterator[Stack]:
    """A stack on the database at ``url`` (migrated here): fresh topics, the stand-in, one ingress."""
    kafka = KafkaSettings(
        kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=f"i{uuid.uuid4().hex[:10]}.", topic_partitions=2
    )
    ensure_topics(kafka)
    engine = make_engine(url)
    migrate(engine)
    stand_in = PipelineStandIn(kafka_bootstrap, kafka.topics, engine)
    stand_in.start()
    stack = Stack(backend, kafka, url, engine, stand_in, ingress=None)  # type: ignore[arg-type]
    try:
        stack.ingress = ThreadedIngress(stack.settings(**ingress_settings)).start()
        yield stack
    finally:
        for server in [stack.ingress, *stack.extra]:
            if server is not None:
                server.stop()
        stand_in.stop()
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack per test module and database backend."""
    backend = str(request.param)
    with (
        provision_database(backend, tmp_path_factory.mktemp("ingress-db")) as url,
        running_stack(backend, kafka_bootstrap, url) as stack,
    ):
        yield stack


@pytest.fixture
def start_ingress(stack: Stack) -> Iterator[Callable[..., ThreadedIngress]]:
    """Start another ingress on the module's stack with some settings changed; stopped after the test."""
    started: list[ThreadedIngress] = []

    def _start(**overrides: Any) -> ThreadedIngress:
        server = ThreadedIngress(stack.settings(**overrides)).start()
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def prompt(unique_id: str) -> Callable[[str], str]:
    """Unique prompt texts for one test (so the stand-in's records can be told apart)."""
    return lambda label="": f"{label} {unique_id}-{uuid.uuid4().hex[:6]}".strip()
