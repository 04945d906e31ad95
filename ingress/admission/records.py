"""The ``requests`` and ``results`` rows ingress reads and writes, each call run off the event loop.

A thin async face over the store (:mod:`batchgpt.store.requests` and :mod:`batchgpt.store.results`): the one
dependency the admission, the waiting and the GET handler get instead of an engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from sqlalchemy import Engine

from batchgpt.store import requests, results
from batchgpt.store.records import RequestRow
from ingress.replies.outcomes import Finished, Pending
from schemas.status import RequestState

__all__ = ["Records"]


class Records:
    """Reads and writes of one database, each in a worker thread."""

    __slots__ = ("engine",)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def request(self, request_id: str, tenant: str) -> RequestRow | None:
        """The tenant's request ``request_id`` (None for unknown ids and other tenants' requests)."""
        return await asyncio.to_thread(requests.get_request, self.engine, request_id=request_id, tenant=tenant)

    async def result(self, request_id: str, tenant: str) -> Finished | None:
        """The stored result of the tenant's request ``request_id``."""
        return Finished.maybe_stored(
            await asyncio.to_thread(results.get_result, self.engine, request_id=request_id, tenant=tenant)
        )

    async def results_among(self, request_ids: Iterable[str]) -> list[Finished]:
        """The stored results among ``request_ids``."""
        found = await asyncio.to_thread(results.find_results, self.engine, request_ids)
        return [Finished.from_stored(stored) for stored in found]

    async def pending(self, request_id: str, tenant: str, endpoint: str) -> Pending:
        """The request's current state, for a 202 answer (a finished row not yet with its result: in progress)."""
        row = await self.request(request_id, tenant)
        if row is None:
            return Pending(request_id, RequestState.QUEUED.value, int(time.time()), endpoint)
        state = row.state if not row.final else RequestState.IN_PROGRESS.value
        return Pending(request_id, state, int(row.received_at), row.endpoint, row.batch_id)

    async def count_pending(self, tenant: str, since: float) -> int:
        """How many of the tenant's requests received after ``since`` are not finished."""
        return await asyncio.to_thread(requests.count_pending, self.engine, tenant=tenant, since=since)

    async def forget(self, request_id: str) -> None:
        """Delete the row of a request nothing was produced for."""
        await asyncio.to_thread(requests.delete_request, self.engine, request_id=request_id)

    async def purge(self, older_than: float) -> int:
        """Delete results (and finished requests) older than ``older_than``; how many results."""
        return await asyncio.to_thread(results.purge_expired, self.engine, older_than=older_than)
