"""The submitter's exactly-once orchestration over the upstream edge (simulator, no broker or database):
the lease is checked before every upstream write, a batch already created is adopted, never created twice."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from batchgpt.simulator.testing import RunningSimulator
from batchgpt.upstream import Backoff, OpenAIUpstream, UpstreamTransient, submit
from collator.metrics import CollatorMetrics
from collator.submitter import Submitter

CHAT = "/v1/chat/completions"
LINES = json.dumps({"custom_id": "req_a", "method": "POST", "url": CHAT,
                    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}).encode() + b"\n"


@pytest.fixture
async def upstream(simulator: RunningSimulator) -> AsyncIterator[OpenAIUpstream]:
    edge = OpenAIUpstream(AsyncOpenAI(base_url=simulator.base_url, api_key="sk-test", timeout=10))
    try:
        yield edge
    finally:
        await edge.close()


def _submitter(upstream: OpenAIUpstream, metrics: CollatorMetrics, max_attempts: int = 3) -> Submitter:
    return Submitter(upstream, metrics=metrics, max_attempts=max_attempts, backoff=Backoff(base_s=0.01, cap_s=0.02))


async def test_the_lease_is_asked_before_every_write_and_losing_it_stops_before_the_create(
    upstream: OpenAIUpstream, simulator: RunningSimulator
) -> None:
    asked: list[int] = []
    points: list[str] = []

    async def keep_lease(attempt: int) -> bool:
        asked.append(attempt)
        return len(asked) < 3  # lost just before the create

    outcome = await _submitter(upstream, CollatorMetrics()).submit(
        "bg_lost", content=LINES, endpoint=CHAT, model="gpt-4o-mini", not_before=time.time(),
        keep_lease=keep_lease, checkpoint=points.append,
    )
    assert (outcome.batch, outcome.error, outcome.attempts) == (None, None, 1)
    assert asked == [1, 1, 1] and points == ["after_upload"]
    stats = simulator.stats()
    assert stats["batches"] == 0 and stats["files"] == 1 and "batches.list" not in stats["api_calls"]


async def test_a_later_attempt_adopts_the_batch_a_crashed_attempt_created(
    upstream: OpenAIUpstream, simulator: RunningSimulator
) -> None:
    started = time.time()
    created = await submit(upstream, "bg_adopt", LINES, endpoint=CHAT, model="gpt-4o-mini")

    async def keep_lease(attempt: int) -> bool:
        return True

    outcome = await _submitter(upstream, CollatorMetrics()).submit(
        "bg_adopt", content=LINES, endpoint=CHAT, model="gpt-4o-mini", not_before=started, attempts_so_far=1,
        keep_lease=keep_lease, checkpoint=lambda point: None,
    )
    assert outcome.adopted and outcome.batch is not None and outcome.batch.id == created.id
    assert outcome.attempts == 2 and outcome.error is None
    assert simulator.stats()["batches"] == 1


async def test_transient_faults_are_retried_counted_and_end_in_an_error_after_the_last_look(
    upstream: OpenAIUpstream, simulator: RunningSimulator
) -> None:
    simulator.inject(kind="http_error", route="files.create", status=503, count=10)
    metrics = CollatorMetrics()

    async def keep_lease(attempt: int) -> bool:
        return True

    outcome = await _submitter(upstream, metrics, max_attempts=3).submit(
        "bg_down", content=LINES, endpoint=CHAT, model="gpt-4o-mini", not_before=time.time(),
        keep_lease=keep_lease, checkpoint=lambda point: None,
    )
    assert outcome.batch is None and isinstance(outcome.error, UpstreamTransient) and outcome.attempts == 3
    assert outcome.error.status == 503
    stats = simulator.stats()
    # attempt 1 uploads without a look; attempts 2 and 3 look, then upload; one last look before giving up
    assert stats["api_calls"]["files.create"] == 3 and stats["api_calls"]["batches.list"] == 3
    errors = metrics.upstream_errors
    assert errors.labels(operation="files.create", kind="transient", status="503")._value.get() == 3
