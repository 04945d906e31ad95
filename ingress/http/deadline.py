"""``Batchgpt-Deadline: <seconds>``: how long a call may wait for its batch before the deadline fallback
(``BATCHGPT_DEADLINE_FALLBACK``) answers it. Pure."""

from __future__ import annotations

import math

from ingress.errors import InvalidRequest

__all__ = ["DEADLINE_HEADER", "MAX_DEADLINE_SECONDS", "deadline_seconds"]

DEADLINE_HEADER = "Batchgpt-Deadline"
MAX_DEADLINE_SECONDS = 7 * 86400.0
"""Longer than any batch may run (OpenAI's window is 24 h): a larger deadline is a mistake."""


def deadline_seconds(raw: str | None) -> float | None:
    """The deadline the header asks for, in seconds from now (None when it is absent).

    :raises InvalidRequest: not a positive number of seconds (at most :data:`MAX_DEADLINE_SECONDS`).
    """
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DEADLINE_SECONDS:
        raise InvalidRequest(
            f"{DEADLINE_HEADER} must be a positive number of seconds (at most {MAX_DEADLINE_SECONDS:.0f}); "
            f"got {raw!r}.",
            param=DEADLINE_HEADER,
            code="invalid_deadline",
        )
    return seconds
