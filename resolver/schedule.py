"""Pure timing: when a batch is polled next (interval with jitter, exponential backoff after errors)."""

from __future__ import annotations

import random

__all__ = ["backoff_delay_seconds", "next_poll_time", "poll_delay_seconds"]

_BACKOFF_BASE_SECONDS = 1.0


def poll_delay_seconds(interval_seconds: float, jitter_fraction: float, rng: random.Random | None = None) -> float:
    """The interval stretched or shrunk by a uniform factor in ``[1 - jitter, 1 + jitter]``."""
    draw = (rng or random).uniform(-jitter_fraction, jitter_fraction)
    return max(0.0, interval_seconds * (1.0 + draw))


def next_poll_time(*, due_at: float | None, now: float, delay_seconds: float) -> float:
    """When to poll next after a poll that was due at ``due_at`` and finished at ``now``.

    The cadence is kept from the due time, not from the end of the poll: a poll that took a while
    (database writes, a slow upstream answer) does not push every later poll back by as much, so a
    batch's end is seen within about one interval. A poll never follows sooner than a quarter of a
    delay after the previous one ended.
    """
    if due_at is None or due_at > now:
        return now + delay_seconds
    return max(due_at + delay_seconds, now + delay_seconds / 4)


def backoff_delay_seconds(
    failures: int,
    *,
    interval_seconds: float,
    max_seconds: float,
    retry_after_seconds: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay after the ``failures``-th consecutive upstream error (``failures >= 1``).

    ``min(interval, 1 s) * 2**(failures-1)``, capped at ``max_seconds``, with up to 25 % jitter; a
    ``Retry-After`` from the server is honoured as a lower bound.
    """
    base = min(interval_seconds, _BACKOFF_BASE_SECONDS) * (2 ** max(0, failures - 1))
    delay = min(max_seconds, base) * (1.0 + (rng or random).uniform(0.0, 0.25))
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return delay
