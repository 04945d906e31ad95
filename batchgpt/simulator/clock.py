"""The simulator's clock: wall time plus an offset tests can push forward (``POST /_sim/clock/advance``)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock"]


class Clock:
    """Unix time in float seconds, from an injectable source, plus an adjustable offset."""

    def __init__(self, source: Callable[[], float] = time.time, offset_seconds: float = 0.0) -> None:
        self._source = source
        self.offset_seconds = offset_seconds

    def now(self) -> float:
        """Current simulated Unix time."""
        return self._source() + self.offset_seconds

    def advance(self, seconds: float) -> float:
        """Jump the simulated time forward by ``seconds``; return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset_seconds += seconds
        return self.now()
