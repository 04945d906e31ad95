"""End to end: every component as its own process on the real broker, the simulator as OpenAI."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from confluent_kafka import Consumer, Producer
from openai import AsyncOpenAI, OpenAI

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_chat_content
from tests.support.process_table import established_connections
from tests.support.waiting import async_wait_for, wait_for

pytestmark = pytest.mark.integration

MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini")


def _body(model: str, prompt: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}]}


def _assert_no_line_went_upstream_twice(stack: Stack, expected_lines: int) -> dict[str, Any]:
    stats = stack.simulator.stats()
    assert stats["duplicate_custom_ids"] == []
    assert stats["lines_submitted"] == expected_lines
    return stats


async def test_thousand_concurrent_sdk_calls_over_three_models(stack_factory: Callable[..., Stack]) -> None:
    window_ms = 3000
    stack = stack_factory(window_ms=window_ms)
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=180)
    prompts = [(MODELS[i % 3], f"e2e prompt {i} {uuid.uuid4().hex}") for i in range(1000)]
    started = time.monotonic()

    async def _call(model: str, prompt: str) -> str:
        reply = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
        assert reply.object == "chat.completion"
        assert reply.model.startswith(model)
        return reply.choices[0].message.content or ""

    answers = await asyncio.gather(*(_call(m, p) for m, p in prompts))
    elapsed = time.monotonic() - started
    await client.close()
    for (model, prompt), answer in zip(prompts, answers, strict=True):
        assert answer == expected_chat_content(_body(model, prompt))
    stats = _assert_no_line_went_upstream_twice(stack, 1000)
    by_model = Counter(d["model"] for d in stats["batch_details"])
    assert set(by_model) == set(MODELS)
    assert all(len(d["models"]) == 1 for d in stats["batch_details"])
    # one batch per window per model: no more batches of a model than windows the run spanned
    windows = math.ceil(elapsed * 1000 / window_ms) + 1
    assert all(count <= windows for count in by_model.values()), (by_model, windows)


def test_mixed_outcomes_reach_the_right_callers(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(
        window_ms=300, extra_env={"BATCHGPT_RETRY_UNFINISHED": "0"}, simulator_flags={"slow_line_seconds": 3600}
    )
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)

    # a per-line error reaches only its caller
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(**_body("gpt-4o-mini", "break me [sim:error=400]"))
    assert bad.value.status_code == 400
    fine = client.chat.completions.create(**_body("gpt-4o-mini", "a fine neighbour"))
    assert fine.choices[0].message.content == expected_chat_content(_body("gpt-4o-mini", "a fine neighbour"))

    # a batch that fails validation answers its caller with the reason
    stack.simulator.inject(kind="batch", outcome="fail_validation", count=1, message="Simulated bad file.")
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(**_body("gpt-4o-mini", "in a failing batch"))
    assert failed.value.status_code >= 400
    assert "Simulated bad file." in str(failed.value.body)

    # an expired batch: the finished line is answered, the unfinished one gets batch_expired
    slow_body = _body("gpt-5-mini", "never finishes [sim:slow]")
    quick_body = _body("gpt-5-mini", "finishes quickly")
    async_client = OpenAI(
        base_url=stack.base_url,
        api_key="sk-any",
        max_retries=0,
        timeout=120,
        default_headers={"Prefer": "respond-async"},
    )
    slow_id = async_client.chat.completions.with_raw_response.create(**slow_body).http_response.json()["id"]
    quick_id = async_client.chat.completions.with_raw_response.create(**quick_body).http_response.json()["id"]

    def _slow_batch_once_the_quick_line_ran() -> str | None:
        # the two calls share a batch unless they straddle a window tick: either way, wait for the quick line
        # to have run, then expire the batch that still holds the slow one
        mine = [d for d in stack.simulator.stats()["batch_details"] if d["model"] == "gpt-5-mini"]
        if sum(d["lines"] for d in mine) < 2 or sum(d["lines_executed"] for d in mine) < 1:
            return None
        unfinished = [d for d in mine if d["lines_executed"] < d["lines"]]
        return str(unfinished[0]["id"]) if unfinished else None

    upstream_id = wait_for(_slow_batch_once_the_quick_line_ran, timeout_s=60, what="the quick line to finish")
    stack.simulator.expire_batch(upstream_id)

    def _final(request_id: str) -> httpx.Response | None:
        response = httpx.get(f"{stack.base_url}/chat/completions/{request_id}", headers={"Authorization": "Bearer x"})
        return response if response.status_code != 202 else None

    quick = wait_for(lambda: _final(quick_id), timeout_s=60, what="the quick line's result")
    assert quick.status_code == 200
    assert quick.json()["choices"][0]["message"]["content"] == expected_chat_content(quick_body)
    slow = wait_for(lambda: _final(slow_id), timeout_s=60, what="the slow line's result")
    assert slow.status_code >= 400
    assert slow.json()["error"]["code"] == "batch_expired"


def test_direct_kafka_producer_gets_its_reply(stack_factory: Callable[..., Stack], consumer_group: str) -> None:
    stack = stack_factory(window_ms=300)
    topics_prefix = stack.env["BATCHGPT_TOPIC_PREFIX"]
    bootstrap = stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": consumer_group, "auto.offset.reset": "earliest"})
    consumer.subscribe([f"{topics_prefix}replies"])
    request_id = f"direct-{uuid.uuid4().hex[:12]}"
    body = _body("gpt-4o-mini", "straight onto the topic")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    producer.produce(
        f"{topics_prefix}requests", key=request_id, value=json.dumps({"request_id": request_id, "body": body})
    )
    assert producer.flush(15) == 0
    found: dict[str, Any] = {}

    def _reply_arrived() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            value = json.loads(msg.value())
            if value["request_id"] == request_id:
                found.update(value)
        return bool(found)

    try:
        wait_for(_reply_arrived, timeout_s=90, what="the reply on the replies topic")
    finally:
        consumer.close()
    assert found["v"] == 1
    assert found["status"] == "completed"
    assert found["status_code"] == 200
    assert found["body"]["choices"][0]["message"]["content"] == expected_chat_content(body)


async def test_ingress_worker_processes_share_one_port(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=300, extra_env={"BATCHGPT_INGRESS_WORKERS": "2"})
    ingress = stack.procs["ingress"]
    workers = subprocess.run(["pgrep", "-P", str(ingress.popen.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)
    bodies = [_body(MODELS[i % 3], f"worker {i} {uuid.uuid4().hex}") for i in range(60)]
    calls = asyncio.gather(*(client.chat.completions.create(**b) for b in bodies))
    # while the calls are held, each worker holds its share of the 60 connections (one socket per worker)
    held: list[int] = []

    async def _all_held() -> bool:
        held[:] = [established_connections(int(pid), stack.ingress_port) for pid in workers]
        return sum(held) >= len(bodies)

    await async_wait_for(_all_held, timeout_s=60, what="60 held connections")
    assert min(held) >= 15, f"connections per worker: {held}"
    replies = await calls
    await client.close()
    for body, reply in zip(bodies, replies, strict=True):
        assert reply.choices[0].message.content == expected_chat_content(body)
    _assert_no_line_went_upstream_twice(stack, len(bodies))
    stack.procs.pop("ingress")
    ingress.stop(grace_s=30)
    assert ingress.returncode() == 0
