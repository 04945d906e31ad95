"""Fixtures for the upstream edge: the simulator tests' fast simulator (reset per test) and the OpenAI and
Anthropic edges on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from sqlalchemy import Engine

from batchgpt.simulator.testing import RunningSimulator
from batchgpt.upstream import AnthropicUpstream, OpenAIUpstream
from batchgpt.upstream.anthropic_recovery import StoreLedger
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


@pytest.fixture
async def anthropic_upstream(sim: RunningSimulator) -> AsyncIterator[AnthropicUpstream]:  # noqa: F811
    """The Anthropic edge without a ledger (it cannot find), on a client that would retry."""
    edge = AnthropicUpstream(AsyncAnthropic(base_url=sim.root_url, api_key="sk-ant-test", max_retries=2, timeout=10))
    try:
        yield edge
    finally:
        await edge.close()


@pytest.fixture
async def finding_upstream(sim: RunningSimulator, db_engine: Engine) -> AsyncIterator[AnthropicUpstream]:  # noqa: F811
    """The Anthropic edge with batch-gpt's records (a fresh database, SQLite or PostgreSQL): it can find; a create
    of one size waits at most 0.5 s for the previous one to be recorded."""
    client = AsyncAnthropic(base_url=sim.root_url, api_key="sk-ant-test", max_retries=2, timeout=10)
    edge = AnthropicUpstream(client, ledger=StoreLedger(db_engine), claim_wait_s=0.5)
    try:
        yield edge
    finally:
        await edge.close()
