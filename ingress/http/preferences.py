"""What the caller asked for in its headers: ``Prefer`` (RFC 7240), its read timeout, its retry count and
``Cache-Control``. Pure.

How long a call is held: ``Prefer: wait=N`` when given (then a 202 when N passes: the caller asked
for asynchronous answers, as with ``Prefer: respond-async``); otherwise until just before the caller
would give up: the OpenAI SDK's own read timeout (``x-stainless-read-timeout``) when it sends one,
capped by ``BATCHGPT_MAX_WAIT_S``, less a margin (a tenth of it, at most 2 s) so that the answer
reaches the caller before its timeout fires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["WaitPreference", "bypasses_cache", "hold_limit", "is_sdk_retry", "wait_preference"]

MAX_MARGIN_SECONDS = 2.0
MARGIN_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class WaitPreference:
    """How long to hold the call, and what the caller asked for.

    ``respond_async``: ``Prefer: respond-async`` (answer 202 at once). ``asked_async``: the caller asked
    for asynchronous answers (``respond-async`` or ``wait=N``), so a 202 may end its wait; a caller that
    did not ask gets a retryable error instead (an SDK would parse a 202 as a completion).
    """

    wait_seconds: float
    respond_async: bool
    asked_async: bool = False


def _number(value: str | None) -> float | None:
    try:
        number = float((value or "").strip().strip('"'))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def hold_limit(max_wait_seconds: float, read_timeout: str | None = None) -> float:
    """The longest hold for a caller whose ``x-stainless-read-timeout`` is ``read_timeout`` (None: not sent)."""
    limit = max_wait_seconds
    client_seconds = _number(read_timeout)
    if client_seconds is not None and client_seconds > 0:
        limit = min(limit, client_seconds)
    return max(0.0, limit - min(MAX_MARGIN_SECONDS, MARGIN_SHARE * limit))


def wait_preference(
    prefer: str | None,
    max_wait_seconds: float,
    default_seconds: float | None = None,
    read_timeout: str | None = None,
) -> WaitPreference:
    """Parse ``Prefer: respond-async, wait=N``; the wait never exceeds :func:`hold_limit`.

    ``default_seconds`` (the hold limit when None) applies when no ``wait`` is given.
    """
    limit = hold_limit(max_wait_seconds, read_timeout)
    wait = limit if default_seconds is None else default_seconds
    respond_async = asked_wait = False
    for item in (prefer or "").split(","):
        token = item.split(";", 1)[0].strip()
        name, _, value = token.partition("=")
        name = name.strip().lower()
        if name == "respond-async":
            respond_async = True
        elif name == "wait":
            seconds = _number(value)
            if seconds is not None:
                wait, asked_wait = max(0.0, seconds), True
    if respond_async:
        wait = 0.0
    return WaitPreference(
        wait_seconds=max(0.0, min(wait, limit)), respond_async=respond_async, asked_async=respond_async or asked_wait
    )


def is_sdk_retry(retry_count: str | None) -> bool:
    """Whether ``x-stainless-retry-count`` says the call is an SDK's retry of an earlier attempt (≥ 1)."""
    try:
        return int((retry_count or "0").strip()) >= 1
    except ValueError:
        return False


def bypasses_cache(cache_control: str | None) -> bool:
    """True for ``Cache-Control: no-cache`` (or ``no-store``): do not answer from a stored finished result."""
    directives = {part.split("=", 1)[0].strip().lower() for part in (cache_control or "").split(",")}
    return bool(directives & {"no-cache", "no-store"})
