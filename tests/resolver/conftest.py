"""Resolver test fixtures: a fast simulator, resolver settings on the test's topics and database, readers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from openai import OpenAI
from sqlalchemy import Engine, select

from batchgpt.settings import KafkaSettings
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator
from batchgpt.store.tables import batches
from resolver.settings import ResolverSettings
from tests.resolver.topic_reader import TopicReader
from tests.support.waiting import async_wait_for

FAST_PHASES = {
    "validating_seconds": 0.05,
    "in_progress_seconds": 0.3,
    "finalizing_seconds": 0.05,
    "cancelling_seconds": 0.1,
}


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A simulator whose batches finish in well under a second."""
    with run_simulator(SimulatorSettings(log_level="warning", **FAST_PHASES)) as running:
        yield running


@pytest.fixture
def openai_sync(sim: RunningSimulator) -> Iterator[OpenAI]:
    """The official SDK pointed at the simulator (what the collator role uses)."""
    client = OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def resolver_settings(kafka_settings: KafkaSettings, database_url: str, sim: RunningSimulator) -> ResolverSettings:
    """Resolver settings on this test's topics, database and simulator, with sub-second timings."""
    return ResolverSettings(
        kafka_bootstrap_servers=kafka_settings.kafka_bootstrap_servers,
        topic_prefix=kafka_settings.topic_prefix,
        topic_partitions=2,
        database_url=database_url,
        openai_api_key="sk-test",
        openai_base_url=sim.base_url,
        poll_interval_seconds=0.05,
        idle_scan_seconds=0.1,
        lease_seconds=5.0,
        token_limit_wait_seconds=0.2,
        fanout_chunk_size=7,
        log_format="text",
    )


@pytest.fixture
def replies_reader(kafka_settings: KafkaSettings) -> Iterator[TopicReader]:
    """Everything on the default replies topic."""
    reader = TopicReader(kafka_settings.kafka_bootstrap_servers, kafka_settings.topics.replies)
    yield reader
    reader.close()


@pytest.fixture
def requests_reader(kafka_settings: KafkaSettings) -> Iterator[TopicReader]:
    """Everything on the requests topic (resubmissions)."""
    reader = TopicReader(kafka_settings.kafka_bootstrap_servers, kafka_settings.topics.requests)
    yield reader
    reader.close()


@pytest.fixture
def events_reader(kafka_settings: KafkaSettings) -> Iterator[TopicReader]:
    """Everything on the batches topic."""
    reader = TopicReader(kafka_settings.kafka_bootstrap_servers, kafka_settings.topics.batches)
    yield reader
    reader.close()


def batch_row(engine: Engine, batch_id: str) -> Any:
    """The batches row."""
    with engine.connect() as conn:
        return conn.execute(select(batches).where(batches.c.id == batch_id)).one()


async def wait_resolved(engine: Engine, batch_id: str, timeout_s: float = 30.0) -> Any:
    """Wait until the resolver set ``resolved_at``; return the row."""

    async def resolved() -> Any:
        row = await asyncio.to_thread(batch_row, engine, batch_id)
        return row if row.resolved_at is not None else None

    return await async_wait_for(resolved, timeout_s=timeout_s, what=f"batch {batch_id} resolved")


async def wait_until(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    """Run a blocking check in a thread until it is truthy."""

    async def condition() -> Any:
        return await asyncio.to_thread(check)

    return await async_wait_for(condition, timeout_s=timeout_s, what=what)


Waiter = Callable[..., Awaitable[Any]]
