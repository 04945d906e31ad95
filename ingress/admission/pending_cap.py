"""The per-key cap on pending requests, checked without counting the table on every request.

The tenant's pending count is read from ``requests`` at most once per ``refresh_seconds``; requests
this replica accepted since that read are added on top. The estimate therefore never undercounts
this replica's own traffic and sees other replicas' within ``refresh_seconds`` (requests finished
meanwhile are still counted until the next read: the cap errs on the strict side).
"""

from __future__ import annotations

import asyncio
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
        self._in_flight: dict[str, asyncio.Future[_Reading]] = {}

    async def estimate(self, tenant: str) -> int:
        """The tenant's pending requests (re-counted when the last reading is older than the refresh)."""
        reading = self._readings.get(tenant)
        now = self._clock()
        if reading is None or now - reading.read_at >= self._refresh_seconds:
            reading = await self._refresh(tenant, now)
        return reading.count

    async def _refresh(self, tenant: str, now: float) -> _Reading:
        """One count per tenant at a time: callers arriving while it runs share its answer."""
        pending = self._in_flight.get(tenant)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Reading] = asyncio.get_running_loop().create_future()
        self._in_flight[tenant] = future
        try:
            reading = _Reading(await self._count(tenant), now)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as unhandled
            raise
        finally:
            del self._in_flight[tenant]
        self._readings[tenant] = reading
        future.set_result(reading)
        return reading

    def accepted(self, tenant: str) -> None:
        """Count one request this replica just accepted."""
        reading = self._readings.get(tenant)
        if reading is not None:
            reading.count += 1
