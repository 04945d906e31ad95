"""Wait on a condition with a deadline (the suite's only way to wait: never a bare sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout_s: float = 30.0, interval_s: float = 0.05, what: str = "") -> T:
    """Call ``condition`` until it returns something truthy; return it, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or condition!r} (last: {last!r})")
        time.sleep(interval_s)
        last = condition()
    return last


async def async_wait_for(
    condition: Callable[[], Awaitable[T]], timeout_s: float = 30.0, interval_s: float = 0.05, what: str = ""
) -> T:
    """The asyncio form of :func:`wait_for`."""
    deadline = time.monotonic() + timeout_s
    last = await condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or condition!r} (last: {last!r})")
        await asyncio.sleep(interval_s)
        last = await condition()
    return last
