"""Resolver test fixtures: a fast simulator, resolver settings on the test's topics and database, readers,
and the ``rig`` that bundles them (:mod:`tests.resolver.rig`, which also holds the waits re-exported here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI
from sqlalchemy import Engine

from batchgpt.settings import KafkaSettings
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator
from resolver.settings import ResolverSettings
from tests.resolver.rig import ResolverRig, batch_row, member_outcomes, wait_resolved, wait_until
from tests.resolver.topic_reader import TopicReader
from tests.support.service_settings import connection_values

__all__ = ["batch_row", "member_outcomes", "wait_resolved", "wait_until"]

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
        **connection_values(kafka_settings, database_url, sim.base_url),
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
    with TopicReader(kafka_settings.kafka_bootstrap_servers, kafka_settings.topics.replies) as reader:
        yield reader


@pytest.fixture
def requests_reader(kafka_settings: KafkaSettings) -> Iterator[TopicReader]:
    """Everything on the requests topic (resubmissions)."""
    with TopicReader(kafka_settings.kafka_bootstrap_servers, kafka_settings.topics.requests) as reader:
        yield reader


@pytest.fixture
def events_reader(kafka_settings: KafkaSettings) -> Iterator[TopicReader]:
    """Everything on the batches topic."""
    with TopicReader(kafka_settings.kafka_bootstrap_servers, kafka_settings.topics.batches) as reader:
        yield reader


@pytest.fixture
def rig(
    resolver_settings: ResolverSettings,
    kafka_settings: KafkaSettings,
    db_engine: Engine,
    sim: RunningSimulator,
    openai_sync: OpenAI,
    replies_reader: TopicReader,
) -> ResolverRig:
    """This test's resolver settings, topics, database, simulator and SDK client, and its default replies topic."""
    return ResolverRig(resolver_settings, kafka_settings, db_engine, sim, openai_sync, replies_reader)
