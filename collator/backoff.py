"""Retry delays: exponential backoff with jitter, or the server's ``Retry-After`` (pure: no I/O)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

__all__ = ["parse_retry_after", "retry_delay"]


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def retry_delay(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number ``attempt`` (1 = first retry).

    ``Retry-After`` wins when given (capped at ``cap_s``); otherwise ``base_s * 2**(attempt-1)``
    capped at ``cap_s``, minus up to 25 % jitter.
    """
    if retry_after_s is not None:
        return min(max(retry_after_s, 0.0), cap_s)
    delay = min(base_s * (2 ** max(attempt - 1, 0)), cap_s)
    jitter = (rng or random).uniform(0.0, 0.25)
    return delay * (1.0 - jitter)
