"""End to end with Azure OpenAI as the upstream: every component as its own process on the real broker, the
services configured with ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` and the simulator in Azure's
dialect (``/openai/v1``, ``api-key``, a quota of input files without expiry, no 24 h expiry); the official
openai SDK as the client of batch-gpt, with deployment names as ``model``."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_chat_content
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

DEPLOYMENTS = ("contoso-gpt-4o-mini-batch", "contoso-gpt-41-batch", "eu-gpt-5-mini-batch")
"""Azure deployment names: what Azure clients send as ``model``, passed through to the batch lines."""
AZURE = {"dialect": "azure", "accept_any_model": True}


def _body(deployment: str, prompt: str) -> dict[str, Any]:
    return {"model": deployment, "messages": [{"role": "user", "content": prompt}]}


def _input_files_left(stack: Stack) -> int:
    return int(stack.simulator.stats()["files_by_purpose"].get("batch", 0))


async def test_concurrent_callers_become_one_batch_per_deployment_each_with_its_own_answer(
    stack_factory: Callable[..., Stack],
) -> None:
    window_ms = 2000
    stack = stack_factory(window_ms=window_ms, simulator_flags=AZURE)
    assert stack.env["AZURE_OPENAI_ENDPOINT"] == stack.simulator.root_url and "OPENAI_API_KEY" not in stack.env
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)
    prompts = [(DEPLOYMENTS[i % 3], f"azure prompt {i} {uuid.uuid4().hex}") for i in range(300)]
    started = time.monotonic()

    replies = await asyncio.gather(*(client.chat.completions.create(**_body(d, p)) for d, p in prompts))
    elapsed = time.monotonic() - started
    await client.close()
    for (deployment, prompt), reply in zip(prompts, replies, strict=True):
        assert reply.model == deployment  # the deployment name, passed through and back
        assert reply.choices[0].message.content == expected_chat_content(_body(deployment, prompt))
    stats = stack.simulator.stats()
    assert stats["duplicate_custom_ids"] == [] and stats["lines_submitted"] == 300
    assert stats["unauthorized_calls"] == 0  # every upstream call carried the api-key header
    by_deployment = Counter(d["model"] for d in stats["batch_details"])
    assert set(by_deployment) == set(DEPLOYMENTS)
    windows = math.ceil(elapsed * 1000 / window_ms) + 1
    assert all(count <= windows for count in by_deployment.values()), (by_deployment, windows)
    wait_for(lambda: _input_files_left(stack) == 0, timeout_s=30, what="every input file deleted")


def test_an_errored_line_reaches_only_its_caller(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=1500, simulator_flags=AZURE)
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)
    bad = _body(DEPLOYMENTS[0], "break me [sim:error=400]")
    good = [_body(DEPLOYMENTS[0], f"a fine neighbour {i}") for i in range(3)]

    def _call(body: dict[str, Any]) -> Any:
        try:
            return client.chat.completions.create(**body)
        except openai.APIStatusError as exc:
            return exc

    async def _all() -> list[Any]:
        return await asyncio.gather(*(asyncio.to_thread(_call, body) for body in [bad, *good]))

    bad_outcome, *good_outcomes = asyncio.run(_all())
    assert isinstance(bad_outcome, openai.BadRequestError) and bad_outcome.status_code == 400
    for body, outcome in zip(good, good_outcomes, strict=True):
        assert outcome.choices[0].message.content == expected_chat_content(body)
    details = stack.simulator.stats()["batch_details"]
    assert len(details) == 1 and details[0]["lines"] == 4  # one batch: the bad line was among its neighbours


def test_the_file_quota_never_fills_over_many_windows(stack_factory: Callable[..., Stack], database_url: str) -> None:
    quota, windows = 2, 6
    stack = stack_factory(window_ms=300, database_url=database_url, simulator_flags={**AZURE, "file_quota": quota})
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)
    for window in range(windows):  # one window after the other: each batch ends before the next is submitted
        body = _body(DEPLOYMENTS[window % 3], f"window {window} {uuid.uuid4().hex}")
        reply = client.chat.completions.create(**body)
        assert reply.choices[0].message.content == expected_chat_content(body)
        wait_for(lambda: _input_files_left(stack) == 0, timeout_s=30, what="the window's input file deleted")
    stats = stack.simulator.stats()
    assert len(stats["batch_details"]) == windows > quota  # more batches than the quota holds files
    assert stats["api_calls"]["files.delete"] >= windows


async def test_a_collator_killed_right_after_an_azure_create_duplicates_nothing(
    stack_factory: Callable[..., Stack],
) -> None:
    # a restarted collator takes over the batches its predecessor had reserved once their lease lapses
    stack = stack_factory(
        window_ms=400,
        simulator_flags=AZURE,
        extra_env={"BATCHGPT_COLLATOR_LEASE_S": "3", "BATCHGPT_COLLATOR_SWEEP_S": "1"},
    )
    # this collator dies right after its first batch create on Azure (the crash hook; only the collator has it)
    stack.env["BATCHGPT_TEST_CRASH_AT"] = "after_create"
    collator = await asyncio.to_thread(stack.restart, "collator")
    del stack.env["BATCHGPT_TEST_CRASH_AT"]
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=6, timeout=90)
    prompts = [(DEPLOYMENTS[i % 3], f"azure crash {i} {uuid.uuid4().hex}") for i in range(60)]
    calls = [asyncio.ensure_future(client.chat.completions.create(**_body(d, p))) for d, p in prompts]
    await asyncio.to_thread(wait_for, collator.exited, timeout_s=60, what="the collator's crash after a create")
    created = len(stack.simulator.stats()["batch_details"])
    await asyncio.to_thread(stack.restart, "collator")  # its successor finds the created batch on Azure
    replies = await asyncio.gather(*calls)
    await client.close()
    for (deployment, prompt), reply in zip(prompts, replies, strict=True):
        assert reply.choices[0].message.content == expected_chat_content(_body(deployment, prompt))
    stats = stack.simulator.stats()
    assert created >= 1
    assert stats["duplicate_custom_ids"] == [] and stats["lines_submitted"] == len(prompts)
