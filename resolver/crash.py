"""Test hook for crash tests: ``BATCHGPT_TEST_CRASH_AT=mid_fanout:N`` SIGKILLs the process after N replies;
``fallback_claimed`` right after it claimed a deadline fallback (before the upstream call and the answer)."""

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
        self._at_fallback_claim = spec == "fallback_claimed"
        if spec and not self._at_fallback_claim:
            point, _, count = spec.partition(":")
            if point != "mid_fanout" or not count.isdigit():
                raise ValueError(f"unknown crash point {spec!r}; expected mid_fanout:N or fallback_claimed")
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

    def fallback_claimed(self) -> None:
        """SIGKILL the process when the hook is set to ``fallback_claimed``."""
        if self._at_fallback_claim:
            logger.warning("test crash hook: killing the resolver after a fallback claim")
            os.kill(os.getpid(), signal.SIGKILL)
