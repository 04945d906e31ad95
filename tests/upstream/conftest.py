"""Fixtures for the upstream edge: the simulator tests' fast simulator (reset per test) and the OpenAI edge on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from batchgpt.simulator.testing import RunningSimulator
from batchgpt.upstream import OpenAIUpstream
from tests.simulator.conftest import (  # noqa: F401  (the same fixtures, for this directory)
    azure_sim,
    shared_azure_sim,
    shared_sim,
    sim,
)


@pytest.fixture
async def upstream(sim: RunningSimulator) -> AsyncIterator[OpenAIUpstream]:  # noqa: F811
    """The OpenAI edge on a client that would retry (the edge must turn that off)."""
    edge = OpenAIUpstream(AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=2, timeout=10))
    try:
        yield edge
    finally:
        await edge.close()
