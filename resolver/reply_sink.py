"""Publishing a batch's verdicts in chunks: produce a chunk, and once Kafka acknowledged all of it, store
its results, member outcomes and request states (never before), then renew the lease.

Chunks are pipelined: while chunk N waits for its acknowledgements and its database write, later
chunks are already being read and produced (at most ``BATCHGPT_FANOUT_CHUNKS_IN_FLIGHT`` chunks, 16
by default, so replies run ahead of the slower database writes; those stay in order, one at a time).
A reply whose own ``reply_to`` Kafka cannot take (unknown topic or partition) is sent to the default
replies topic instead, so one bad destination never blocks a batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

from confluent_kafka import KafkaException

from resolver.context import WorkerContext
from resolver.leases import renew_lease
from resolver.repository import BatchRow, MemberRow, ResultRow, member_requests, store_chunk
from resolver.results import Outcome
from resolver.verdicts import RESUBMIT, Verdict
from schemas import RequestState

__all__ = ["ReplySink"]

logger = logging.getLogger(__name__)



class ReplySink:
    """Buffers verdicts for one batch and settles them chunk by chunk; ``close()`` waits for all of them."""

    def __init__(self, ctx: WorkerContext, batch: BatchRow) -> None:
        self._ctx = ctx
        self._batch = batch
        self._buffer: list[tuple[MemberRow, Verdict]] = []
        self._in_flight: deque[asyncio.Task[None]] = deque()
        self._store_lock = asyncio.Lock()
        self._last_renew = time.monotonic()
        self.answered = 0
        self.resubmitted = 0

    async def add(self, member: MemberRow, verdict: Verdict) -> None:
        """Queue one member's verdict; send the chunk when it is full."""
        self._buffer.append((member, verdict))
        if len(self._buffer) >= self._ctx.settings.fanout_chunk_size:
            await self.flush()
        elif time.monotonic() - self._last_renew > self._ctx.settings.lease_seconds / 3:
            await self._renew()

    async def flush(self) -> None:
        """Produce the buffered verdicts now; their settling continues in the background."""
        items, self._buffer = self._buffer, []
        if not items:
            return
        ctx, batch = self._ctx, self._batch
        again = [m.request_id for m, v in items if not isinstance(v, Outcome)]
        stored = (
            await asyncio.to_thread(member_requests, ctx.engine, batch_id=batch.id, request_ids=again) if again else {}
        )
        futures = [
            self._reply(m, v) if isinstance(v, Outcome) else ctx.publisher.resubmit_nowait(m, stored[m.request_id])
            for m, v in items
        ]
        self._in_flight.append(asyncio.create_task(self._settle(items, futures)))
        while len(self._in_flight) >= ctx.settings.fanout_chunks_in_flight:
            await self._in_flight.popleft()

    async def close(self) -> None:
        """Send what is buffered and wait until every chunk is delivered and stored."""
        await self.flush()
        await self._drain()

    async def abort(self) -> None:
        """Forget the buffer and wait for the chunks already sent (their errors are dropped)."""
        self._buffer = []
        while self._in_flight:
            await asyncio.gather(self._in_flight.popleft(), return_exceptions=True)

    async def _drain(self) -> None:
        try:
            while self._in_flight:
                await self._in_flight[0]
                self._in_flight.popleft()
        finally:
            await self.abort()

    async def _renew(self) -> None:
        ctx = self._ctx
        await asyncio.to_thread(
            renew_lease,
            ctx.engine,
            batch_id=self._batch.id,
            owner=ctx.owner,
            now=time.time(),
            lease_seconds=ctx.settings.lease_seconds,
        )
        self._last_renew = time.monotonic()

    def _reply(self, member: MemberRow, outcome: Outcome) -> asyncio.Future[Any]:
        """Produce a reply to the member's ``reply_to``; if Kafka refuses that destination outright, to the default."""
        try:
            return self._ctx.publisher.reply_nowait(member, outcome, self._batch)
        except KafkaException:
            if not member.reply_topic:
                raise
            return self._ctx.publisher.reply_nowait(member, outcome, self._batch, default_topic=True)

    async def _delivered(self, items: list[tuple[MemberRow, Verdict]], futures: list[asyncio.Future[Any]]) -> None:
        """Await every delivery; a reply that could not reach its own ``reply_to`` goes to the default topic."""
        results = await asyncio.gather(*futures, return_exceptions=True)
        retries = []
        for (member, verdict), result in zip(items, results, strict=True):
            if not isinstance(result, BaseException):
                continue
            if not isinstance(verdict, Outcome) or not member.reply_topic:
                raise result
            logger.warning(
                "reply_to unreachable; replying on the default topic",
                extra={"request_id": member.request_id, "reply_topic": member.reply_topic, "error": str(result)},
            )
            retries.append(self._ctx.publisher.reply_nowait(member, verdict, self._batch, default_topic=True))
        await asyncio.gather(*retries)

    async def _settle(self, items: list[tuple[MemberRow, Verdict]], futures: list[asyncio.Future[Any]]) -> None:
        """Wait for Kafka's acknowledgement of a chunk, then store it."""
        ctx, batch = self._ctx, self._batch
        await self._delivered(items, futures)
        replies = [(m, v) for m, v in items if isinstance(v, Outcome)]
        ctx.crash.replies_delivered(len(replies))
        now = time.time()
        rows = [
            ResultRow(m.request_id, m.tenant, v.status.value, v.status_code, json.dumps(v.body), now)
            for m, v in replies
        ]
        completed = [m.request_id for m, v in replies if v.ok]
        failed = [m.request_id for m, v in replies if not v.ok]
        resubmitted = [m.request_id for m, v in items if v is RESUBMIT]
        outcomes = {"completed": completed, "failed": failed, "resubmitted": resubmitted}
        states = {
            RequestState.COMPLETED.value: completed,
            RequestState.FAILED.value: failed,
            RequestState.QUEUED.value: resubmitted,
        }
        async with self._store_lock:
            await asyncio.to_thread(
                store_chunk,
                ctx.engine,
                batch_id=batch.id,
                upstream_batch_id=batch.upstream_batch_id,
                rows=rows,
                outcomes={k: v for k, v in outcomes.items() if v},
                request_states={k: v for k, v in states.items() if v},
                now=now,
            )
            await self._renew()
        for name, ids in outcomes.items():
            if ids:
                ctx.metrics.lines.labels(name).inc(len(ids))
        self.answered += len(replies)
        self.resubmitted += len(resubmitted)
