"""Collator fixtures: the simulator (the only stand-in), collator settings, an in-process worker, and an
in-process resolver (the one service that answers callers, also for batches the collator could not submit)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from batchgpt.settings import KafkaSettings
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator
from collator.app import Collator, create_app
from collator.settings import CollatorSettings
from resolver.app import RunningResolver, running_resolver
from resolver.settings import ResolverSettings
from tests.support.service_settings import connection_values

FAST_SIMULATOR = SimulatorSettings(
    validating_seconds=0.05, in_progress_seconds=0.1, finalizing_seconds=0.05, cancelling_seconds=0.05
)


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    """A fresh simulator with batches that finish in a fraction of a second."""
    with run_simulator(FAST_SIMULATOR) as sim:
        yield sim


@pytest.fixture
def collator_settings(
    kafka_settings: KafkaSettings, database_url: str, simulator: RunningSimulator
) -> Callable[..., CollatorSettings]:
    """A factory of collator settings for this test's topics, database and simulator."""

    def make(**overrides: Any) -> CollatorSettings:
        values: dict[str, Any] = {
            **connection_values(kafka_settings, database_url, simulator.base_url),
            "upstream_timeout_seconds": 10,
            "window_ms": 300,
            "submit_backoff_seconds": 0.05,
            "submit_backoff_max_seconds": 0.5,
            "lease_seconds": 5,
            "sweep_interval_seconds": 0.5,
            "commit_interval_seconds": 0.2,
        }
        values.update(overrides)
        return CollatorSettings(**values)

    return make


@pytest.fixture
def run_collator(
    db_engine: Engine, collator_settings: Callable[..., CollatorSettings]
) -> Callable[..., contextlib.AbstractAsyncContextManager[Collator]]:
    """``async with run_collator(**overrides) as collator:`` runs an in-process worker on the test's database."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Collator]:
        collator = create_app(collator_settings(**overrides), engine=db_engine)
        async with collator.running():
            yield collator

    return start


@pytest.fixture
def run_resolver(
    kafka_settings: KafkaSettings, database_url: str, simulator: RunningSimulator
) -> Callable[..., contextlib.AbstractAsyncContextManager[RunningResolver]]:
    """``async with run_resolver(**overrides):`` runs an in-process resolver on the test's topics and database."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[RunningResolver]:
        values: dict[str, Any] = {
            **connection_values(kafka_settings, database_url, simulator.base_url),
            "poll_interval_seconds": 0.05,
            "idle_scan_seconds": 0.2,
            "lease_seconds": 5.0,
            "log_format": "text",
        }
        values.update(overrides)
        async with running_resolver(ResolverSettings(**values)) as resolver:
            yield resolver

    return start
