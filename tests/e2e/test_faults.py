"""Faults mid-run through the whole pipeline, with official SDK callers (default retries) sending at a steady pace.

A restart of the Kafka broker, a PostgreSQL outage, bursts of upstream 500s and 429s, and a kill -9 of each
service (during an OpenAI run, and one after the other during an Anthropic run), each at a moment drawn from a
seeded generator (``BATCHGPT_FAULT_SEED``, 16 by default: a failure names its seed, and the same seed replays the
same schedule). Each run asserts that every caller got its own answer, that no line went upstream twice and that
the simulator saw every line exactly once; the database outage also that the callers met only 503s with
``Retry-After`` on the way, that ``/readyz`` reported it, and that every service rode it out.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anthropic import AsyncAnthropic
from openai import DEFAULT_MAX_RETRIES, AsyncOpenAI, DefaultAsyncHttpxClient

from batchgpt.broker import BrokerCluster, BrokerHandle, linked_home, start_cluster
from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_chat_content
from batchgpt.simulator.message_answers import expected_message_text
from tests.support.private_postgres import PrivatePostgres, running_private_postgres
from tests.support.waiting import async_wait_for

pytestmark = pytest.mark.integration

MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini")
ANTHROPIC_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-6")


@dataclass(frozen=True)
class FaultSchedule:
    """The seeded generator a test draws its fault moments from; ``str()`` names the seed to replay it."""

    seed: str
    rng: random.Random

    def __str__(self) -> str:
        return f"BATCHGPT_FAULT_SEED={self.seed}"


@pytest.fixture
def schedule(request: pytest.FixtureRequest) -> FaultSchedule:
    """This test's schedule: the run's seed mixed with the test's id, so each test draws its own moments."""
    seed = os.environ.get("BATCHGPT_FAULT_SEED", "16")
    return FaultSchedule(seed=seed, rng=random.Random(f"{seed}:{request.node.nodeid}"))


@dataclass(frozen=True)
class OwnBroker:
    """A broker of the test's own (never the shared one): stopped and started again on the same ports and data."""

    cluster: BrokerCluster

    @property
    def port(self) -> int:
        return self.cluster.nodes[0].port

    def start(self) -> BrokerHandle:
        return self.cluster.start_node(1, timeout_s=120)

    def stop(self) -> None:
        assert self.cluster.stop_node(1, grace_s=30)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    """A single-node broker with its home under ``tmp_path``, on the jars the session already has."""
    broker = OwnBroker(start_cluster(linked_home(tmp_path / "kafka"), size=1, timeout_s=120))
    try:
        yield broker
    finally:
        broker.cluster.stop()


def _body(model: str, prompt: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}]}


@dataclass(frozen=True)
class Callers:
    """The SDK the callers use: how a call is made and closed, and whether an answer is its call's own."""

    bodies: list[dict[str, Any]]
    send: Callable[[dict[str, Any]], Awaitable[Any]]
    answers: Callable[[dict[str, Any], Any], bool]
    close: Callable[[], Awaitable[None]]


ResponseHook = Callable[[httpx.Response], Awaitable[None]]
"""An httpx event hook that sees every HTTP answer a caller's SDK got, its retried ones included."""


def _openai_callers(stack: Stack, calls: int, max_retries: int, on_response: ResponseHook | None) -> Callers:
    hooks = {"response": [on_response]} if on_response is not None else {}
    client = AsyncOpenAI(
        base_url=stack.base_url,
        api_key="sk-any",
        timeout=120,
        max_retries=max_retries,
        http_client=DefaultAsyncHttpxClient(event_hooks=hooks),
    )
    return Callers(
        bodies=[_body(MODELS[i % len(MODELS)], f"fault {i} {uuid.uuid4().hex}") for i in range(calls)],
        send=lambda body: client.chat.completions.create(**body),
        answers=lambda body, reply: reply.choices[0].message.content == expected_chat_content(body),
        close=client.close,
    )


def _anthropic_callers(stack: Stack, calls: int, max_retries: int, on_response: ResponseHook | None) -> Callers:
    assert on_response is None, "the Anthropic callers report no HTTP answers"
    client = AsyncAnthropic(
        base_url=stack.base_url.removesuffix("/v1"), api_key="sk-any", timeout=120, max_retries=max_retries
    )
    return Callers(
        bodies=[
            {**_body(ANTHROPIC_MODELS[i % 2], f"anthropic fault {i} {uuid.uuid4().hex}"), "max_tokens": 256}
            for i in range(calls)
        ],
        send=lambda body: client.messages.create(**body),
        answers=lambda body, reply: reply.content[0].text == expected_message_text(body),
        close=client.close,
    )


async def _run_with_fault(
    stack: Stack,
    schedule: FaultSchedule,
    fault: Callable[[], Awaitable[None]],
    *,
    calls: int,
    per_second: float,
    max_retries: int = DEFAULT_MAX_RETRIES,
    settle_s: float = 150,
    make_callers: Callable[[Stack, int, int, ResponseHook | None], Callers] = _openai_callers,
    responses: list[httpx.Response] | None = None,
) -> dict[str, Any]:
    """Send ``calls`` SDK calls at ``per_second`` while ``fault`` runs; assert every caller got its own answer once
    and the simulator saw each line once. Return the simulator's stats; every HTTP answer the callers saw (retried
    ones included) is added to ``responses`` when given."""

    async def _seen(response: httpx.Response) -> None:
        if responses is not None:
            responses.append(response)

    callers = make_callers(stack, calls, max_retries, _seen if responses is not None else None)
    bodies = callers.bodies

    pending: list[asyncio.Future[Any]] = []

    async def _send_paced() -> list[Any]:
        for body in bodies:
            pending.append(asyncio.ensure_future(callers.send(body)))
            await asyncio.sleep(1 / per_second)  # the callers' pace, not a wait for anything
        return await asyncio.gather(*pending, return_exceptions=True)

    sending = asyncio.ensure_future(_send_paced())
    await fault()
    assert not sending.done(), f"[{schedule}] the fault ended after the last answer: it was not mid-run"
    await asyncio.wait({sending}, timeout=settle_s)
    unanswered = [bodies[i]["messages"][0]["content"] for i, call in enumerate(pending) if not call.done()]
    sending.cancel()
    await callers.close()
    assert unanswered == [], f"[{schedule}] {len(unanswered)} callers unanswered after {settle_s}s: {unanswered[:5]}"
    replies = sending.result()
    failed = [(i, repr(r)) for i, r in enumerate(replies) if isinstance(r, BaseException)]
    assert failed == [], f"[{schedule}] {len(failed)} of {calls} callers got an error: {failed[:5]}"
    wrong = [i for i, (body, r) in enumerate(zip(bodies, replies, strict=True)) if not callers.answers(body, r)]
    assert wrong == [], f"[{schedule}] callers answered with another call's answer: {wrong[:10]}"
    stats = stack.simulator.stats()
    assert stats["duplicate_custom_ids"] == [], f"[{schedule}] lines sent upstream twice"
    assert stats["lines_submitted"] == calls, f"[{schedule}] {stats['lines_submitted']} lines upstream for {calls}"
    return stats


def _moment(schedule: FaultSchedule, calls: int, per_second: float) -> float:
    """A seeded moment while the callers are still sending: between a fifth and seven tenths of the way."""
    return schedule.rng.uniform(0.2, 0.7) * calls / per_second


async def test_a_broker_restart_mid_run_loses_and_duplicates_nothing(
    own_broker: OwnBroker, stack_factory: Callable[..., Stack], schedule: FaultSchedule
) -> None:
    stack = stack_factory(bootstrap=f"127.0.0.1:{own_broker.port}", window_ms=500)
    calls, per_second = 300, 50.0

    async def _restart_broker() -> None:
        await asyncio.sleep(_moment(schedule, calls, per_second))  # the fault's seeded moment, not a wait
        await asyncio.to_thread(own_broker.stop)
        await asyncio.to_thread(own_broker.start)

    await _run_with_fault(stack, schedule, _restart_broker, calls=calls, per_second=per_second)


BURSTS: tuple[dict[str, Any], ...] = (
    {"route": "files.create", "status": 500, "count": 3},
    {"route": "files.create", "status": 429, "count": 2, "retry_after_seconds": 1},
    {"route": "batches.create", "status": 429, "count": 3, "retry_after_seconds": 1},
    {"route": "batches.create", "status": 500, "count": 2},
    {"route": "batches.retrieve", "status": 500, "count": 4},
    {"route": "batches.retrieve", "status": 429, "count": 2, "retry_after_seconds": 1},
    {"route": "files.content", "status": 500, "count": 3},
    {"route": "files.content", "status": 429, "count": 2, "retry_after_seconds": 1},
)
"""Bursts of 500s and 429s (with ``Retry-After``) on every files and batches call the pipeline makes."""


async def test_upstream_500_and_429_bursts_mid_run_lose_and_duplicate_nothing(
    stack_factory: Callable[..., Stack], schedule: FaultSchedule
) -> None:
    stack = stack_factory(window_ms=500)
    calls, per_second = 200, 40.0

    async def _bursts() -> None:
        await asyncio.sleep(_moment(schedule, calls, per_second))  # the fault's seeded moment, not a wait
        for burst in BURSTS:
            await asyncio.to_thread(stack.simulator.inject, kind="http_error", **burst)

    stats = await _run_with_fault(stack, schedule, _bursts, calls=calls, per_second=per_second)
    assert stats["faults_pending"] == [], f"[{schedule}] faults never reached: {stats['faults_pending']}"
    assert stats["faults_fired"] == sum(b["count"] for b in BURSTS)
    # one upload and one create per batch, besides the calls the bursts failed: no file or batch made twice
    for route in ("files.create", "batches.create"):
        failed = sum(b["count"] for b in BURSTS if b["route"] == route)
        assert stats["api_calls"][route] - failed == stats["batches"], f"[{schedule}] {route}: {stats['api_calls']}"


@pytest.mark.parametrize("service", ["collator", "resolver", "ingress"])
async def test_a_service_killed_mid_run_loses_and_duplicates_nothing(
    stack_factory: Callable[..., Stack], schedule: FaultSchedule, service: str
) -> None:
    stack = stack_factory(
        window_ms=400,
        simulator_flags={"in_progress_seconds": 1.0},
        # the default leases and sweep: a restarted collator or resolver takes over its predecessor's batches within
        # seconds, once their heartbeat-kept leases lapse
    )
    calls, per_second = 150, 40.0

    async def _kill_and_restart() -> None:
        await asyncio.sleep(_moment(schedule, calls, per_second))  # the fault's seeded moment, not a wait
        await asyncio.to_thread(stack.restart, service)  # SIGKILL, then a new process

    # retries enough to ride out the restarted ingress's start-up
    await _run_with_fault(stack, schedule, _kill_and_restart, calls=calls, per_second=per_second, max_retries=6)


async def test_each_service_killed_in_turn_mid_anthropic_run_loses_and_duplicates_nothing(
    stack_factory: Callable[..., Stack], schedule: FaultSchedule
) -> None:
    stack = stack_factory(window_ms=400, simulator_flags={"in_progress_seconds": 1.0})  # the default leases
    calls, per_second = 200, 40.0

    async def _kill_each_in_turn() -> None:
        for service in ("collator", "resolver", "ingress"):
            # the fault's seeded moment, not a wait: the three kills fall within the first 3/4 of the sending
            await asyncio.sleep(schedule.rng.uniform(0.05, 0.25) * calls / per_second)
            await asyncio.to_thread(stack.restart, service)  # SIGKILL, then a new process

    stats = await _run_with_fault(
        stack,
        schedule,
        _kill_each_in_turn,
        calls=calls,
        per_second=per_second,
        max_retries=10,  # the SDK's backoff reaches 8 s a retry: enough to ride out an ingress slow to start
        make_callers=_anthropic_callers,
    )
    assert {d["model"] for d in stats["batch_details"]} == set(ANTHROPIC_MODELS)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of the test's own (never the shared one), to stop and start mid-run."""
    with running_private_postgres() as cluster:
        yield cluster


OUTAGE_S = 10.0


async def test_a_database_outage_mid_run_answers_503s_then_resumes_and_loses_and_duplicates_nothing(
    private_postgres: PrivatePostgres, stack_factory: Callable[..., Stack], schedule: FaultSchedule
) -> None:
    stack = stack_factory(database_url=private_postgres.url, window_ms=500)
    calls, per_second = 200, 20.0
    readyz = f"http://127.0.0.1:{stack.ingress_port}/readyz"
    responses: list[httpx.Response] = []

    async def _ready_checks(http: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
        answer = await http.get(readyz)
        return answer.status_code, answer.json().get("checks", {})

    async def _outage() -> None:
        await asyncio.sleep(_moment(schedule, calls, per_second))  # the fault's seeded moment, not a wait
        await asyncio.to_thread(private_postgres.stop)
        async with httpx.AsyncClient(timeout=10) as http:
            await async_wait_for(
                lambda: _reports_outage(http), timeout_s=OUTAGE_S, what="/readyz reporting the database down"
            )
            await asyncio.sleep(OUTAGE_S)  # the outage's length, not a wait for anything
            await asyncio.to_thread(private_postgres.start)
            await async_wait_for(lambda: _is_ready(http), timeout_s=30, what="/readyz 200 once the database is back")

    async def _reports_outage(http: httpx.AsyncClient) -> bool:
        status, checks = await _ready_checks(http)
        return status == 503 and checks.get("database", "").startswith("unreachable") and checks["kafka"] == "ok"

    async def _is_ready(http: httpx.AsyncClient) -> bool:
        status, _ = await _ready_checks(http)
        return status == 200

    # retries enough to ride out the outage on the ingress's Retry-After (5 s)
    await _run_with_fault(
        stack, schedule, _outage, calls=calls, per_second=per_second, max_retries=6, responses=responses
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, f"[{schedule}] callers saw {sorted(set(statuses))}: only 503s may be retried"
    refused = [r for r in responses if r.status_code == 503]
    assert refused, f"[{schedule}] no caller met the outage: it was not mid-run"
    for answer in refused:
        assert answer.headers.get("retry-after") and answer.headers.get("x-should-retry") == "true"
        await answer.aread()
        assert answer.json()["error"]["code"] == "database_unavailable"
    for service in ("collator", "resolver", "ingress"):
        assert not stack.procs[service].exited(), f"[{schedule}] the {service} died in the outage"
