"""The figures a fault benchmark prints, from the calls' timings: percentiles and recovery times (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CallTiming", "Window", "percentile", "recovery_s"]


@dataclass(frozen=True)
class CallTiming:
    """When one call was sent and when its caller got its answer or, its retries spent, an error (``None``: never)."""

    sent_at: float
    ended_at: float | None


@dataclass(frozen=True)
class Window:
    """A fault's window: from the fault (``start``) until the faulty part was back (``end``: restarted, restored)."""

    start: float
    end: float


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): the smallest value with at least q % of the values at
    or below it. ``nan`` for no values."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[math.ceil(q / 100 * len(ordered)) - 1]


def recovery_s(window: Window, calls: Sequence[CallTiming]) -> float | None:
    """How long after the fault the last call it caught ended: the calls in flight at some moment of the window
    (sent before its end, not ended before its start). ``None`` when one of them never ended; ``0.0`` when the
    fault caught none."""
    caught = [c for c in calls if c.sent_at <= window.end and (c.ended_at is None or c.ended_at >= window.start)]
    if any(c.ended_at is None for c in caught):
        return None
    return max((c.ended_at - window.start for c in caught if c.ended_at is not None), default=0.0)
