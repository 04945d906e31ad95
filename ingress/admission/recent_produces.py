"""The request ids this replica produced a moment ago: a re-send that re-attaches to one of them need not produce it
again (its produce was acknowledged, or is still under way, here)."""

from __future__ import annotations

from collections import deque

__all__ = ["RecentProduces"]


class RecentProduces:
    """Request ids produced in the last ``window_s`` seconds (older ones are forgotten as new ones come)."""

    __slots__ = ("_ids", "_order", "_window_s")

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._order: deque[tuple[float, str]] = deque()
        self._ids: set[str] = set()

    def add(self, request_id: str, now: float) -> None:
        """Remember that ``request_id`` is being produced at ``now``."""
        while self._order and self._order[0][0] < now - self._window_s:
            self._ids.discard(self._order.popleft()[1])
        self._order.append((now, request_id))
        self._ids.add(request_id)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._ids
