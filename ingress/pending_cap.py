"""The per-key cap on pending requests, checked without counting the table on every request.

The tenant's pending count is read from ``requests`` at most once per ``refresh_seconds``; requests
this replica accepted since that read are added on top. The estimate therefore never undercounts
this replica's own traffic and sees other replicas' within ``refresh_seconds`` (requests finished
meanwhile are still counted until the next read: the cap errs on the strict side).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["PendingCounter"]


@dataclass(slots=True)
class _Reading:
    count: int
    read_at: float


class PendingCounter:
    """Estimates each tenant's pending requests from a periodic count plus local acceptances."""

    def __init__(
        self,
        count: Callable[[str], Awaitable[int]],
        *,
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._readings: dict[str, _Reading] = {}

    async def estimate(self, tenant: str) -> int:
        """The tenant's pending requests (re-counted when the last reading is older than the refresh)."""
        reading = self._readings.get(tenant)
        now = self._clock()
        if reading is None or now - reading.read_at >= self._refresh_seconds:
            reading = _Reading(await self._count(tenant), now)
            self._readings[tenant] = reading
        return reading.count

    def accepted(self, tenant: str) -> None:
        """Count one request this replica just accepted."""
        reading = self._readings.get(tenant)
        if reading is not None:
            reading.count += 1
