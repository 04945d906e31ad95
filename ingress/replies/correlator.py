"""Pending-reply registry: request id -> the futures of the calls waiting for it. Pure asyncio.

A request may have several waiters (a caller that re-attached, a GET with ``Prefer: wait``).
``resolve`` wakes all of them once; a duplicate reply finds nobody and is ignored. ``release_all``
wakes everybody with ``None`` (shutdown: the calls answer 202 with their id). The last few results
delivered to waiters are remembered (``recent``): the database learns of a finished request a moment
after its reply, and a caller re-sending in that moment must see it finished.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from ingress.replies.outcomes import Finished

__all__ = ["Correlator"]

RECENT_RESULTS = 2048

Waiter = asyncio.Future[Finished | None]


class Correlator:
    """Maps request ids to waiting futures. One instance per process; used from the event loop only."""

    __slots__ = ("_waiters", "_count", "_recent", "_recent_limit")

    def __init__(self, recent_limit: int = RECENT_RESULTS) -> None:
        # one future, or a list of them when several calls wait on the same id (saves a list per call)
        self._waiters: dict[str, Waiter | list[Waiter]] = {}
        self._count = 0
        self._recent: OrderedDict[str, Finished] = OrderedDict()
        self._recent_limit = recent_limit

    def __len__(self) -> int:
        """How many calls are waiting."""
        return self._count

    def __contains__(self, request_id: object) -> bool:
        """Whether somebody waits for ``request_id``."""
        return request_id in self._waiters

    def register(self, request_id: str) -> Waiter:
        """Add a waiter for ``request_id`` and return its future."""
        future: Waiter = asyncio.get_running_loop().create_future()
        current = self._waiters.get(request_id)
        if current is None:
            self._waiters[request_id] = future
        elif isinstance(current, list):
            current.append(future)
        else:
            self._waiters[request_id] = [current, future]
        self._count += 1
        return future

    def discard(self, request_id: str, future: Waiter) -> None:
        """Remove one waiter (it timed out or its caller left); unknown waiters are ignored."""
        current = self._waiters.get(request_id)
        if current is None:
            return
        if isinstance(current, list):
            if future in current:
                current.remove(future)
                self._count -= 1
            if len(current) == 1:
                self._waiters[request_id] = current[0]
            elif not current:
                del self._waiters[request_id]
        elif current is future:
            del self._waiters[request_id]
            self._count -= 1

    def resolve(self, result: Finished) -> int:
        """Wake every waiter of ``result.request_id``; return how many were woken (0 for a duplicate)."""
        current = self._waiters.pop(result.request_id, None)
        if current is None:
            return 0
        futures = current if isinstance(current, list) else [current]
        self._count -= len(futures)
        self._recent[result.request_id] = result
        if len(self._recent) > self._recent_limit:
            self._recent.popitem(last=False)
        for future in futures:
            if not future.done():
                future.set_result(result)
        return len(futures)

    def recent(self, request_id: str) -> Finished | None:
        """The result recently delivered to this replica's waiters of ``request_id``, if remembered."""
        return self._recent.get(request_id)

    def pending_ids(self) -> list[str]:
        """The request ids somebody is waiting for."""
        return list(self._waiters)

    def release_all(self) -> int:
        """Wake every waiter with ``None`` (shutdown); return how many."""
        woken = 0
        waiters, self._waiters, self._count = self._waiters, {}, 0
        for current in waiters.values():
            for future in current if isinstance(current, list) else [current]:
                if not future.done():
                    future.set_result(None)
                    woken += 1
        return woken
