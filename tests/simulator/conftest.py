"""Fixtures for the simulator tests: one fast simulator on real uvicorn, reset per test; SDK clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI, OpenAI

from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator

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
    """The shared simulator, reset: no files, batches, faults or counts; ``FAST`` settings; real time."""
    shared_sim.reset()
    return shared_sim


@pytest.fixture
def client(sim: RunningSimulator) -> Iterator[OpenAI]:
    """The official sync client, without retries (tests that want retries ask for them)."""
    with OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, timeout=10) as openai_client:
        yield openai_client


@pytest.fixture
async def aclient(sim: RunningSimulator) -> AsyncIterator[AsyncOpenAI]:
    """The official async client, without retries."""
    async with AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, timeout=10) as openai_client:
        yield openai_client


@pytest.fixture(scope="session")
def shared_azure_sim() -> Iterator[RunningSimulator]:
    """One simulator in Azure OpenAI's dialect for the session (``/openai/v1``, ``api-key``, file quota)."""
    with run_simulator(FAST, dialect="azure") as running:
        yield running


@pytest.fixture
def azure_sim(shared_azure_sim: RunningSimulator) -> RunningSimulator:
    """The shared Azure-dialect simulator, reset (``FAST`` settings, a quota of 500 files without expiry)."""
    shared_azure_sim.reset()
    return shared_azure_sim


@pytest.fixture
def anthropic_client(sim: RunningSimulator) -> Iterator[Anthropic]:
    """The official ``anthropic`` sync client on the simulator (its base URL is the root: it adds ``/v1``)."""
    with Anthropic(base_url=sim.root_url, api_key="sk-ant-test", max_retries=0, timeout=10) as client:
        yield client


@pytest.fixture
async def anthropic_aclient(sim: RunningSimulator) -> AsyncIterator[AsyncAnthropic]:
    """The official ``anthropic`` async client on the simulator."""
    async with AsyncAnthropic(base_url=sim.root_url, api_key="sk-ant-test", max_retries=0, timeout=10) as client:
        yield client
