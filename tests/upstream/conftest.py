"""Fixtures for the upstream edge: one fast simulator on real uvicorn (reset per test) and the OpenAI edge on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from openai import AsyncOpenAI

from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator
from batchgpt.upstream import OpenAIUpstream

FAST = SimulatorSettings(
    validating_seconds=0.02,
    in_progress_seconds=0.1,
    finalizing_seconds=0.02,
    cancelling_seconds=0.05,
    log_level="warning",
)


@pytest.fixture(scope="session")
def shared_sim() -> Iterator[RunningSimulator]:
    """One simulator for the session, on a free 127.0.0.1 port."""
    with run_simulator(FAST) as running:
        yield running


@pytest.fixture
def sim(shared_sim: RunningSimulator) -> RunningSimulator:
    """The shared simulator, reset: no files, batches, faults or counts."""
    shared_sim.reset()
    return shared_sim


@pytest.fixture
async def upstream(sim: RunningSimulator) -> AsyncIterator[OpenAIUpstream]:
    """The OpenAI edge on a client that would retry (the edge must turn that off)."""
    edge = OpenAIUpstream(AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=2, timeout=10))
    try:
        yield edge
    finally:
        await edge.close()
