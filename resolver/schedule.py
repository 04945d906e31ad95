"""Pure timing: when a batch is polled next (interval with jitter; after an error, the shared backoff policy of
:mod:`batchgpt.upstream.backoff`)."""

from __future__ import annotations

import random

__all__ = ["next_poll_time", "poll_delay_seconds"]


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
