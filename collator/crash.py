"""The crash-test hook: SIGKILL this process at a named dangerous point (off unless configured)."""

from __future__ import annotations

import logging
import os
import signal

__all__ = ["CRASH_POINTS", "CrashHook"]

logger = logging.getLogger(__name__)

CRASH_POINTS = ("after_consume", "after_upload", "after_create", "after_db_write")


class CrashHook:
    """Kills the process the ``count``-th time ``point`` is reached; does nothing when ``point`` is None."""

    def __init__(self, point: str | None = None, count: int = 1) -> None:
        if point is not None and point not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {point!r}; expected one of {', '.join(CRASH_POINTS)}")
        self.point = point
        self._remaining = count

    def __call__(self, point: str) -> None:
        if self.point is None or point != self.point:
            return
        self._remaining -= 1
        if self._remaining <= 0:
            logger.warning("crash hook: SIGKILL", extra={"crash_point": point})
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
