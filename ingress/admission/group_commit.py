"""Group commit: many concurrent callers, one blocking call (one database transaction) per group. Pure asyncio.

Callers ``await committer.submit(item)``. Items that arrive while a group is being written wait and
form the next group, so under load each transaction carries everything that queued meanwhile
(up to ``max_group``) and the number of transactions stays small; with a single caller it costs
one transaction, as before. The blocking function runs in a worker thread and returns one outcome
per item, in order; an outcome that is an exception is raised to that item's caller only, and an
exception raised by the function itself reaches every caller of the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommitter"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    """Feeds queued items to ``write`` in groups, one group at a time, in arrival order."""

    def __init__(
        self,
        write: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        max_group: int = 500,
        on_group: Callable[[int], None] | None = None,
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._write = write
        self._max_group = max_group
        self._on_group = on_group
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        """Items waiting for the next group."""
        return len(self._queue)

    async def submit(self, item: T, *, on_abandoned: Callable[[asyncio.Future[R]], None] | None = None) -> R:
        """Queue ``item`` and return its outcome once its group was written.

        A cancelled caller does not cancel its group; ``on_abandoned`` then gets the item's outcome
        future when the group is written (to undo what was recorded for nobody).
        """
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if on_abandoned is not None:
                future.add_done_callback(on_abandoned)
            raise

    async def _drain(self) -> None:
        while self._queue:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            items = [item for item, _ in group]
            if self._on_group is not None:
                self._on_group(len(items))
            try:
                outcomes = await asyncio.to_thread(self._write, items)
                if len(outcomes) != len(group):
                    raise RuntimeError(f"group write returned {len(outcomes)} outcomes for {len(group)} items")
            except BaseException as exc:  # noqa: BLE001 - handed to every caller of the group
                for _, future in group:
                    if future.done():
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(exc)
                        future.exception()  # retrieved: a caller that went away is not logged as unhandled
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                    future.exception()
                else:
                    future.set_result(outcome)

    async def close(self) -> None:
        """Wait for the groups already queued to be written."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
