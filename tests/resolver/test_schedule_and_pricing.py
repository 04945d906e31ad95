"""Poll timing (jitter, backoff, Retry-After) and the saving estimate, without a broker."""

from __future__ import annotations

import random

import pytest

from batchgpt_infra.pricing import BATCH_DISCOUNT, estimate_saving, price_for
from resolver.schedule import backoff_delay_seconds, poll_delay_seconds


def test_poll_delay_stays_within_the_jitter_band() -> None:
    rng = random.Random(1)
    delays = [poll_delay_seconds(10.0, 0.2, rng) for _ in range(500)]
    assert min(delays) >= 8.0 and max(delays) <= 12.0
    assert max(delays) - min(delays) > 2.0  # really jittered


def test_backoff_doubles_and_is_capped() -> None:
    rng = random.Random(2)
    kw = {"interval_seconds": 30.0, "max_seconds": 20.0, "rng": rng}
    first, second, third = (backoff_delay_seconds(n, **kw) for n in (1, 2, 3))
    assert 1.0 <= first <= 1.25 and 2.0 <= second <= 2.5 and 4.0 <= third <= 5.0
    assert backoff_delay_seconds(30, **kw) <= 25.0


def test_backoff_honours_retry_after() -> None:
    assert backoff_delay_seconds(1, interval_seconds=1, max_seconds=5, retry_after_seconds=42.0) == 42.0


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
