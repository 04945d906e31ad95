"""Poll timing (jitter, cadence) and the saving estimate, without a broker (the backoff: tests/upstream)."""

from __future__ import annotations

import random

import pytest

from batchgpt.pricing import BATCH_DISCOUNT, estimate_saving, price_for
from resolver.schedule import next_poll_time, poll_delay_seconds


def test_poll_delay_stays_within_the_jitter_band() -> None:
    rng = random.Random(1)
    delays = [poll_delay_seconds(10.0, 0.2, rng) for _ in range(500)]
    assert min(delays) >= 8.0 and max(delays) <= 12.0
    assert max(delays) - min(delays) > 2.0  # really jittered


def test_known_models_and_snapshots_get_a_price_unknown_ones_none() -> None:
    assert price_for("gpt-4o-mini") == price_for("gpt-4o-mini-2024-07-18")
    assert price_for("gpt-4o") != price_for("gpt-4o-mini")
    assert price_for("my-finetune") is None
    assert estimate_saving("my-finetune", 10, 10) is None


def test_saving_is_half_the_synchronous_cost() -> None:
    estimate = estimate_saving("gpt-4o-mini", 1_000_000, 1_000_000)
    assert estimate is not None
    assert estimate.synchronous_usd == pytest.approx(0.15 + 0.60)
    assert estimate.saving_usd == pytest.approx((0.15 + 0.60) * (1 - BATCH_DISCOUNT))


def test_the_poll_cadence_is_kept_from_the_due_time_not_from_the_end_of_a_slow_poll() -> None:
    # due at 10.0, the poll (claim, upstream call, writes) ended at 10.12: next at 10.2, not 10.32
    assert next_poll_time(due_at=10.0, now=10.12, delay_seconds=0.2) == pytest.approx(10.2)
    # a poll that overran its interval is followed a quarter of a delay later, never at once
    assert next_poll_time(due_at=10.0, now=10.5, delay_seconds=0.2) == pytest.approx(10.55)
    # never polled (or polled early on a wake-up): a full delay from now
    assert next_poll_time(due_at=None, now=10.0, delay_seconds=0.2) == pytest.approx(10.2)
    assert next_poll_time(due_at=11.0, now=10.0, delay_seconds=0.2) == pytest.approx(10.2)
