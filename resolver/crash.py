"""Test hook for crash tests: ``BATCHGPT_TEST_CRASH_AT=mid_fanout:N`` SIGKILLs the process after N replies."""

from __future__ import annotations

import logging
import os
import signal

__all__ = ["CrashHook"]

logger = logging.getLogger(__name__)


class CrashHook:
    """Counts delivered replies and kills this process (no cleanup, like ``kill -9``) past a threshold."""

    def __init__(self, spec: str | None) -> None:
        self._after: int | None = None
        if spec:
            point, _, count = spec.partition(":")
            if point != "mid_fanout" or not count.isdigit():
                raise ValueError(f"unknown crash point {spec!r}; expected mid_fanout:N")
            self._after = int(count)
        self._delivered = 0

    def replies_delivered(self, count: int) -> None:
        """Record ``count`` more delivered replies; SIGKILL the process once the threshold is reached."""
        if self._after is None:
            return
        self._delivered += count
        if self._delivered >= self._after:
            logger.warning("test crash hook: killing the resolver mid fan-out", extra={"delivered": self._delivered})
            os.kill(os.getpid(), signal.SIGKILL)
