"""End to end with Anthropic's Message Batches as the upstream of ``/v1/messages``: every component as its own
process on the real broker, the services pointed at the simulator's Anthropic API (``ANTHROPIC_API_KEY`` /
``ANTHROPIC_BASE_URL``), and the official anthropic SDK as the client of batch-gpt (sync, async, stream, errors)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import pytest
from anthropic import Anthropic, AsyncAnthropic

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.message_answers import expected_message_text
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

MODELS = ("claude-haiku-4-5", "claude-opus-4-6")


def _body(model: str, prompt: str) -> dict[str, Any]:
    return {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": prompt}]}


def _text(message: Any) -> str:
    return str(message.content[0].text)


async def test_concurrent_callers_become_one_message_batch_per_model_each_with_its_own_answer(
    stack_factory: Callable[..., Stack],
) -> None:
    window_ms = 2000
    stack = stack_factory(window_ms=window_ms)
    client = AsyncAnthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="sk-any", max_retries=0, timeout=120)
    prompts = [(MODELS[i % 2], f"anthropic prompt {i} {uuid.uuid4().hex}") for i in range(200)]
    started = time.monotonic()

    replies = await asyncio.gather(*(client.messages.create(**_body(m, p)) for m, p in prompts))
    elapsed = time.monotonic() - started
    await client.close()
    for (model, prompt), reply in zip(prompts, replies, strict=True):
        assert reply.type == "message" and reply.model == model
        assert _text(reply) == expected_message_text(_body(model, prompt))
    stats = stack.simulator.stats()
    assert stats["duplicate_custom_ids"] == [] and stats["lines_submitted"] == 200
    by_model = Counter(d["model"] for d in stats["batch_details"])
    assert set(by_model) == set(MODELS)
    windows = math.ceil(elapsed * 1000 / window_ms) + 1
    assert all(count <= windows for count in by_model.values()), (by_model, windows)
    # the batch views show the Message Batches in OpenAI's Batch shape, with their provider
    listed = httpx.get(f"{stack.base_url}/batches", params={"limit": 100}).json()["data"]
    assert listed and {b["endpoint"] for b in listed} == {"/v1/messages"}
    assert {b["metadata"]["provider"] for b in listed} == {"anthropic"}
    assert all(b["object"] == "batch" and b["status"] == "completed" for b in listed)
    assert all(b["metadata"]["upstream_batch_id"].startswith("msgbatch_") for b in listed)


def test_sync_stream_and_an_errored_line_that_reaches_only_its_caller(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=1500)
    client = Anthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="sk-any", max_retries=0, timeout=120)
    bad = _body(MODELS[0], "break me [sim:error=400]")
    good = [_body(MODELS[0], f"a fine neighbour {i} {uuid.uuid4().hex}") for i in range(3)]
    streamed = _body(MODELS[0], f"streamed {uuid.uuid4().hex}")

    def _call(body: dict[str, Any]) -> Any:
        try:
            return client.messages.create(**body)
        except anthropic.APIStatusError as exc:
            return exc

    def _stream(body: dict[str, Any]) -> str:
        with client.messages.stream(**body) as stream:
            return stream.get_final_text()

    async def _all() -> list[Any]:
        return await asyncio.gather(
            *(asyncio.to_thread(_call, body) for body in [bad, *good]), asyncio.to_thread(_stream, streamed)
        )

    bad_outcome, *good_outcomes, streamed_text = asyncio.run(_all())
    assert isinstance(bad_outcome, anthropic.BadRequestError) and bad_outcome.status_code == 400
    assert isinstance(bad_outcome.body, dict) and bad_outcome.body["type"] == "error"
    for body, outcome in zip(good, good_outcomes, strict=True):
        assert _text(outcome) == expected_message_text(body)
    assert streamed_text == expected_message_text(streamed)
    details = stack.simulator.stats()["batch_details"]
    assert len(details) == 1 and details[0]["lines"] == 5  # one batch: the bad line was among its neighbours


async def test_a_collator_killed_right_after_a_message_batch_create_duplicates_nothing(
    stack_factory: Callable[..., Stack],
) -> None:
    # Message Batches have no metadata: the restarted collator finds the batch its predecessor created by its
    # requests' custom_ids (the upstream's find), and submits nothing twice
    stack = stack_factory(window_ms=400, extra_env={"BATCHGPT_COLLATOR_LEASE_S": "3", "BATCHGPT_COLLATOR_SWEEP_S": "1"})
    stack.env["BATCHGPT_TEST_CRASH_AT"] = "after_create"
    collator = await asyncio.to_thread(stack.restart, "collator")
    del stack.env["BATCHGPT_TEST_CRASH_AT"]
    client = AsyncAnthropic(base_url=stack.base_url.removesuffix("/v1"), api_key="sk-any", max_retries=6, timeout=90)
    prompts = [(MODELS[i % 2], f"anthropic crash {i} {uuid.uuid4().hex}") for i in range(40)]
    calls = [asyncio.ensure_future(client.messages.create(**_body(m, p))) for m, p in prompts]
    await asyncio.to_thread(wait_for, collator.exited, timeout_s=60, what="the collator's crash after a create")
    created = len(stack.simulator.stats()["batch_details"])
    await asyncio.to_thread(stack.restart, "collator")
    replies = await asyncio.gather(*calls)
    await client.close()
    for (model, prompt), reply in zip(prompts, replies, strict=True):
        assert _text(reply) == expected_message_text(_body(model, prompt))
    stats = stack.simulator.stats()
    assert created >= 1
    assert stats["duplicate_custom_ids"] == [] and stats["lines_submitted"] == len(prompts)


def test_an_expired_line_is_resubmitted_once_then_answered_504_its_finished_neighbour_gets_its_message(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(window_ms=500)
    headers = {"x-api-key": "sk-any", "anthropic-version": "2023-06-01", "prefer": "respond-async"}
    slow_body = _body(MODELS[1], f"never finishes [sim:slow] {uuid.uuid4().hex}")
    quick_body = _body(MODELS[1], f"finishes quickly {uuid.uuid4().hex}")
    slow_id, quick_id = (
        httpx.post(f"{stack.base_url}/messages", json=body, headers=headers).json()["id"]
        for body in (slow_body, quick_body)
    )

    def _final(request_id: str) -> httpx.Response | None:
        response = httpx.get(f"{stack.base_url}/messages/{request_id}", headers=headers)
        return response if response.status_code != 202 else None

    expired: list[str] = []

    def _slow_answered_expiring_its_batches() -> httpx.Response | None:
        # once the quick line ran, expire every Message Batch still running the slow line: the first one, then
        # the one its resubmission went to
        details = [d for d in stack.simulator.stats()["batch_details"] if d["model"] == MODELS[1]]
        if sum(d["lines_executed"] for d in details) >= 1:
            for detail in details:
                if detail["lines_executed"] < detail["lines"] and detail["id"] not in expired:
                    stack.simulator.expire_batch(str(detail["id"]))
                    expired.append(str(detail["id"]))
        return _final(slow_id)

    slow = wait_for(_slow_answered_expiring_its_batches, timeout_s=90, what="the slow line's result")
    assert slow.status_code == 504, slow.text
    assert slow.json()["type"] == "error" and slow.json()["error"]["type"] == "timeout_error"
    assert len(expired) == 2 and all(e.startswith("msgbatch_") for e in expired)  # resubmitted once, then answered
    quick = wait_for(lambda: _final(quick_id), timeout_s=60, what="the quick line's result")
    assert quick.status_code == 200 and quick.json()["content"][0]["text"] == expected_message_text(quick_body)
