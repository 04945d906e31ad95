"""The holder: calls waiting on the correlator until their result arrives, the wait ends, or the replica drains.

A held call costs one future in the correlator, its own (already running) handler and one timer handle that
ends the wait by resolving the future with ``None``, as a drain does (an ``asyncio.timeout`` would add a
context-manager object, the task's cancellation machinery and a frame of its own to every held call).
"""

from __future__ import annotations

import asyncio

from ingress.metrics import IngressMetrics
from ingress.process.drain import Drain
from ingress.replies.correlator import Correlator, Waiter
from ingress.replies.outcomes import Finished

__all__ = ["Holder"]


class Holder:
    """Registers waiters for request ids and holds calls on them."""

    __slots__ = ("_correlator", "_drain", "_held")

    def __init__(self, correlator: Correlator, drain: Drain, metrics: IngressMetrics) -> None:
        self._correlator = correlator
        self._drain = drain
        self._held = metrics.held

    @property
    def draining(self) -> bool:
        """Whether the replica is shutting down (nothing is held any more)."""
        return self._drain.draining

    def register(self, request_id: str) -> Waiter:
        """A future that gets the result of ``request_id``."""
        return self._correlator.register(request_id)

    def discard(self, request_id: str, future: Waiter) -> None:
        """Give up a future from :meth:`register`."""
        self._correlator.discard(request_id, future)

    def recent(self, request_id: str) -> Finished | None:
        """The result this replica delivered for ``request_id`` a moment ago, if remembered."""
        return self._correlator.recent(request_id)

    async def hold(self, request_id: str, future: Waiter, wait_seconds: float) -> Finished | None:
        """Wait for ``future`` up to ``wait_seconds``; None when the wait ended without a result."""
        if self._drain.draining or wait_seconds <= 0:
            self._correlator.discard(request_id, future)
            return future.result() if future.done() else None
        self._held.inc()
        expiry = asyncio.get_running_loop().call_later(wait_seconds, _end_wait, future)
        try:
            return await future
        finally:
            expiry.cancel()
            self._held.dec()
            self._correlator.discard(request_id, future)


def _end_wait(future: Waiter) -> None:
    """The wait's time is up: wake the call with no result (unless its result came first)."""
    if not future.done():
        future.set_result(None)
