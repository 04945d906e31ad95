"""Keeping a worker's leases alive while it works: one heartbeat task per collator or resolver worker.

A worker leases each batch it works on for a short time (``BATCHGPT_COLLATOR_LEASE_S``,
``BATCHGPT_RESOLVER_LEASE_S``: seconds, not minutes). While the worker is alive its heartbeat extends every
lease it holds, a third of a lease apart, in one UPDATE (:func:`batchgpt.store.leases.renew_held`), so a
slow step (a long upload, a long read of a result file) never loses its lease. When the worker dies the beats
stop: its leases lapse within one lease time and another worker's sweep or claim takes its batches over.

A beat the database does not answer is tried again a second later (never more than a third of a lease);
a lease the beat finds taken (another worker claimed it after it lapsed, or it was released) is dropped
from the held set, and the owner's own check before its next upstream write stops it.

::

    heartbeat = LeaseHeartbeat(engine, owner="worker-1", lease_s=15)
    async with heartbeat.running():
        heartbeat.hold(batch_id, renewed_at=time.time())   # right after claiming or reserving it
        ...                                                # work on the batch, however long
        heartbeat.drop(batch_id)                           # after releasing it
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from sqlalchemy import Engine

from batchgpt.store.leases import renew_held

__all__ = ["LeaseHeartbeat"]

logger = logging.getLogger(__name__)

_RETRY_S = 1.0
"""Pause before a failed beat is tried again (capped at the beat interval)."""


class LeaseHeartbeat:
    """Extends this worker's leases every third of a lease while it holds them."""

    def __init__(self, engine: Engine, *, owner: str, lease_s: float, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._owner = owner
        self._lease_s = lease_s
        self._clock = clock
        self.interval_s = lease_s / 3
        """Time between beats: two beats may fail before a lease lapses."""
        self._held: dict[str, float] = {}
        """Batch id -> when its lease was last extended."""

    def hold(self, batch_id: str, *, renewed_at: float) -> None:
        """Keep ``batch_id``'s lease alive from now on (its lease was just taken or extended at ``renewed_at``)."""
        self._held[batch_id] = renewed_at

    def drop(self, batch_id: str) -> None:
        """Stop extending ``batch_id``'s lease (the worker released it or is done with it)."""
        self._held.pop(batch_id, None)

    def renewed_at(self, batch_id: str) -> float | None:
        """When the lease on ``batch_id`` was last extended, or None when it is not held."""
        return self._held.get(batch_id)

    @property
    def held(self) -> frozenset[str]:
        """The batch ids whose leases are being kept alive."""
        return frozenset(self._held)

    async def beat(self) -> None:
        """Extend every held lease once; drop those this worker no longer holds.

        :raises Exception: the database's error when it could not be reached (nothing is dropped).
        """
        if not self._held:
            return
        snapshot = dict(self._held)
        now = self._clock()
        renewed = await asyncio.to_thread(
            renew_held, self._engine, snapshot, owner=self._owner, now=now, lease_s=self._lease_s
        )
        for batch_id, before in snapshot.items():
            if self._held.get(batch_id) != before:
                continue  # held again (or dropped) while the beat ran: that newer state stands
            if batch_id in renewed:
                self._held[batch_id] = now
            else:
                del self._held[batch_id]
                logger.info("lease no longer held", extra={"batch_id": batch_id, "owner": self._owner})

    async def run(self) -> None:
        """Beat until cancelled; a failed beat is logged and tried again soon."""
        while True:
            try:
                await self.beat()
                pause = self.interval_s
            except Exception as exc:  # noqa: BLE001 - the database is unreachable: the next beat tries again
                logger.warning("lease heartbeat failed", extra={"owner": self._owner, "error": str(exc)})
                pause = min(_RETRY_S, self.interval_s)
            await asyncio.sleep(pause)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LeaseHeartbeat]:
        """Run the heartbeat in the background for the duration of the block."""
        task = asyncio.create_task(self.run(), name=f"lease-heartbeat-{self._owner}")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
