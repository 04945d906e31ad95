"""The one backoff policy (pure) and the tenacity retries that apply it (no broker, no network)."""

from __future__ import annotations

import random

import pytest

from batchgpt.upstream import Backoff, UpstreamRejected, UpstreamTransient, retry
from batchgpt.upstream.backoff import JITTER


def test_the_delay_doubles_from_the_base_with_jitter_taken_off_and_is_capped() -> None:
    rng = random.Random(1)
    policy = Backoff(base_s=1.0, cap_s=10.0)
    delays = [policy.delay(n, rng=rng) for n in range(1, 7)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(2 ** (n - 1), 10.0)
        assert (1 - JITTER) * nominal <= delay <= nominal
    assert len(set(delays)) == len(delays)  # really jittered


def test_the_cap_is_a_true_ceiling_even_after_endless_failures() -> None:
    rng = random.Random(2)
    policy = Backoff(base_s=1.0, cap_s=20.0)  # the resolver's: min(poll interval, 1 s), its max backoff
    first, second, third = (policy.delay(n, rng=rng) for n in (1, 2, 3))
    assert 0.75 <= first <= 1.0 and 1.5 <= second <= 2.0 and 3.0 <= third <= 4.0
    assert 15.0 <= policy.delay(30, rng=rng) <= 20.0
    assert policy.delay(100_000, rng=rng) <= 20.0  # no overflow


def test_retry_after_is_a_floor_and_not_capped() -> None:
    policy = Backoff(base_s=1.0, cap_s=10.0)
    assert policy.delay(1, retry_after_s=4.0) == 4.0
    assert policy.delay(1, retry_after_s=400.0) == 400.0  # the server's word, not our guess, decides
    assert Backoff(base_s=1.0, cap_s=5.0).delay(1, retry_after_s=42.0) == 42.0
    assert 0.75 <= policy.delay(1, retry_after_s=0.0) <= 1.0  # a hint shorter than the backoff: the backoff


async def test_transient_faults_are_retried_honouring_retry_after() -> None:
    calls: list[int] = []
    retries: list[tuple[int, str, float]] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise UpstreamTransient("429", operation="batches.create", status=429, retry_after_s=0.05)
        return "done"

    result = await retry(
        flaky,
        policy=Backoff(base_s=0.001, cap_s=0.001),
        retry_on=lambda exc: isinstance(exc, UpstreamTransient),
        on_retry=lambda n, exc, delay: retries.append((n, str(exc), delay)),
    )
    assert result == "done" and len(calls) == 3
    assert [(n, text) for n, text, _ in retries] == [(1, "429"), (2, "429")]
    assert all(delay >= 0.05 for _, _, delay in retries)


async def test_a_rejection_is_not_retried_and_the_attempt_limit_reraises_the_last_fault() -> None:
    calls: list[int] = []

    async def rejected() -> None:
        calls.append(1)
        raise UpstreamRejected("400", status=400)

    policy = Backoff(base_s=0.001, cap_s=0.001)
    with pytest.raises(UpstreamRejected):
        await retry(rejected, policy=policy, retry_on=lambda exc: isinstance(exc, UpstreamTransient))
    assert len(calls) == 1

    numbers: list[int] = []

    async def unavailable() -> None:
        calls.append(1)
        raise UpstreamTransient(f"503 #{len(calls)}", status=503)

    calls.clear()
    with pytest.raises(UpstreamTransient, match="503 #3"):
        await retry(
            unavailable, policy=policy, retry_on=lambda exc: isinstance(exc, UpstreamTransient), max_attempts=3,
            attempts_before=4, on_retry=lambda n, exc, delay: numbers.append(n),
        )
    assert len(calls) == 3 and numbers == [5, 6]  # attempt numbers count the attempts made before


async def test_a_call_returning_an_awaitable_is_awaited_on_every_attempt() -> None:
    calls: list[int] = []

    async def database_write() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("reset")
        return len(calls)

    policy = Backoff(base_s=0.001, cap_s=0.001)
    result = await retry(lambda: database_write(), policy=policy, retry_on=lambda e: isinstance(e, ConnectionError))
    assert result == 2
