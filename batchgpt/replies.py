"""The one reply sink: how a caller is answered (the resolver is the only service that does it).

For each member of a batch the sink takes a verdict: an :class:`Answer` (completion or error) or
:data:`RESUBMIT`. It produces them in chunks (answers as a :class:`~schemas.messages.ReplyMessage` to
the member's ``reply_to``, resubmissions with ``attempt + 1`` to the requests topic), and once Kafka
acknowledged a whole chunk, and never before, stores its results, member outcomes and request states
through :func:`batchgpt.store.results.store_answers`.

* A reply whose own ``reply_to`` Kafka cannot take (unknown topic or partition) is sent to the
  default replies topic instead, so one bad destination never blocks a batch.
* With ``divert_late``, each chunk's answers first go through
  :func:`batchgpt.store.deadlines.divert_late`: the deadlines of their requests are disarmed, and the lines
  of requests a deadline fallback already claimed are recorded as late instead of delivered.
* Chunks are pipelined: while chunk N waits for its acknowledgements and its database write, later
  chunks are already being produced (at most ``chunks_in_flight``, so replies run ahead of the slower
  database writes; those stay in order, one at a time).

::

    sink = ReplySink(engine, ReplyPublisher(producer, topics), batch, chunk_size=500, chunks_in_flight=16)
    await sink.add(member, answer)      # or RESUBMIT
    await sink.close()                  # every chunk delivered and stored
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import KafkaException, Message
from sqlalchemy import Engine

from batchgpt.kafka import AsyncProducer
from batchgpt.store.deadlines import LATE, divert_late
from batchgpt.store.members import member_requests
from batchgpt.store.records import BatchRow, MemberRow, ResultRow
from batchgpt.store.results import store_answers
from batchgpt.usage import usage_of
from schemas import ReplyMessage, ReplyStatus, ReplyTo, RequestMessage, RequestState, TopicNames, decode, encode

__all__ = ["RESUBMIT", "Answer", "ReplyPublisher", "ReplySink", "Resubmit", "Verdict", "reply_message", "result_row"]

logger = logging.getLogger(__name__)


class Answer(Protocol):
    """What a caller gets: the reply's status, HTTP status code and body (completion or error envelope), and the
    provider's request id of the batch line that produced it (None when no line ran)."""

    @property
    def status(self) -> ReplyStatus: ...
    @property
    def status_code(self) -> int: ...
    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def upstream_request_id(self) -> str | None: ...


@dataclass(frozen=True)
class Resubmit:
    """Send the request again (``attempt + 1``) instead of answering it now."""


RESUBMIT = Resubmit()

Verdict = Answer | Resubmit


async def _nothing() -> None:
    return None


def reply_message(
    request_id: str, tenant: str | None, answer: Answer, *, batch: BatchRow | None = None
) -> ReplyMessage:
    """The reply carrying ``answer`` (``batch``: the batch whose line produced it; None for a deadline fallback)."""
    return ReplyMessage(
        request_id=request_id,
        status=answer.status,
        status_code=answer.status_code,
        body=answer.body,
        batch_id=batch.id if batch is not None else None,
        upstream_batch_id=batch.upstream_batch_id if batch is not None else None,
        completed_at=time.time(),
        tenant=tenant,
        upstream_request_id=answer.upstream_request_id,
    )


class ReplyPublisher:
    """Produces replies to each caller's ``reply_to`` and resubmissions, through the process's one producer."""

    def __init__(self, producer: AsyncProducer, topics: TopicNames) -> None:
        self._producer = producer
        self.topics = topics

    def reply_nowait(
        self, member: MemberRow, answer: Answer, batch: BatchRow, *, default_topic: bool = False
    ) -> asyncio.Future[Message]:
        """Queue the member's reply (key = request id) to its reply topic/partition, or to the default replies
        topic (``default_topic``, or no ``reply_to``); the future resolves on delivery."""
        reply = reply_message(member.request_id, member.tenant, answer, batch=batch)
        topic = self.topics.replies if default_topic else (member.reply_topic or self.topics.replies)
        partition = member.reply_partition if member.reply_topic and not default_topic else None
        return self._producer.produce_nowait(topic, encode(reply), key=member.request_id, partition=partition)

    def send_nowait(self, reply: ReplyMessage, reply_to: ReplyTo | None) -> asyncio.Future[Message]:
        """Queue a reply answered outside a batch (the deadline fallback's) to ``reply_to`` (None: the default
        replies topic)."""
        topic = reply_to.topic if reply_to is not None else self.topics.replies
        partition = reply_to.partition if reply_to is not None else None
        return self._producer.produce_nowait(topic, encode(reply), key=reply.request_id, partition=partition)

    def resubmit_nowait(self, member: MemberRow, request_json: str) -> asyncio.Future[Message]:
        """Queue the member's request (its stored JSON) again with ``attempt + 1`` on the requests topic."""
        request = decode(RequestMessage, request_json)
        again = request.model_copy(update={"attempt": member.attempt + 1})
        return self._producer.produce_nowait(self.topics.requests, encode(again), key=member.request_id)


def result_row(request_id: str, tenant: str | None, answer: Answer, now: float, endpoint: str | None) -> ResultRow:
    """The ``results`` row of a request's answer, with the tokens its body's ``usage`` reported (for ``endpoint``)."""
    used = usage_of(endpoint, answer.body) if endpoint and answer.status is ReplyStatus.COMPLETED else None
    return ResultRow(
        request_id,
        tenant,
        answer.status.value,
        answer.status_code,
        json.dumps(answer.body),
        now,
        answer.upstream_request_id,
        input_tokens=used.input_tokens if used is not None else None,
        output_tokens=used.output_tokens if used is not None else None,
    )


class ReplySink:
    """Buffers verdicts for one batch and settles them chunk by chunk; ``close()`` waits for all of them.

    ``keep_lease`` is awaited after every stored chunk and at least every ``keep_lease_every_s`` while
    verdicts are added (it raises when the caller lost its lease on the batch); ``on_delivered(n)`` and
    ``on_stored(outcome, n)`` report progress (crash-test hook, metrics); ``divert_late``: a deadline fallback is
    on, so lines whose request the fallback claimed are recorded (outcome ``late``), never delivered.
    ``announce(answers)`` is awaited with each chunk's answers once their replies were delivered and before they
    are stored (webhooks out: a crash in between announces them again, never not at all).
    """

    def __init__(
        self,
        engine: Engine,
        publisher: ReplyPublisher,
        batch: BatchRow,
        *,
        chunk_size: int,
        chunks_in_flight: int,
        keep_lease: Callable[[], Awaitable[None]] = _nothing,
        keep_lease_every_s: float = float("inf"),
        on_delivered: Callable[[int], None] = lambda _n: None,
        on_stored: Callable[[str, int], None] = lambda _outcome, _n: None,
        divert_late: bool = False,
        announce: Callable[[list[tuple[MemberRow, Answer]]], Awaitable[None]] | None = None,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._batch = batch
        self._chunk_size = chunk_size
        self._chunks_in_flight = chunks_in_flight
        self._keep_lease = keep_lease
        self._keep_lease_every_s = keep_lease_every_s
        self._on_delivered = on_delivered
        self._on_stored = on_stored
        self._divert_late = divert_late
        self._announce = announce
        self._buffer: list[tuple[MemberRow, Verdict]] = []
        self._in_flight: deque[asyncio.Task[None]] = deque()
        self._store_lock = asyncio.Lock()
        self._last_renew = time.monotonic()
        self.answered = 0
        self.resubmitted = 0
        self.late = 0

    async def add(self, member: MemberRow, verdict: Verdict) -> None:
        """Queue one member's verdict; send the chunk when it is full."""
        self._buffer.append((member, verdict))
        if len(self._buffer) >= self._chunk_size:
            await self.flush()
        elif time.monotonic() - self._last_renew > self._keep_lease_every_s:
            await self._renew()

    async def flush(self) -> None:
        """Produce the buffered verdicts now; their settling continues in the background."""
        items, self._buffer = self._buffer, []
        if items and self._divert_late:
            items = await self._without_late(items)
        if not items:
            return
        batch = self._batch
        again = [m.request_id for m, v in items if isinstance(v, Resubmit)]
        stored = (
            await asyncio.to_thread(member_requests, self._engine, batch_id=batch.id, request_ids=again)
            if again
            else {}
        )
        futures = [
            self._publisher.resubmit_nowait(m, stored[m.request_id]) if isinstance(v, Resubmit) else self._reply(m, v)
            for m, v in items
        ]
        self._in_flight.append(asyncio.create_task(self._settle(items, futures)))
        while len(self._in_flight) >= self._chunks_in_flight:
            await self._in_flight.popleft()

    async def _without_late(self, items: list[tuple[MemberRow, Verdict]]) -> list[tuple[MemberRow, Verdict]]:
        """Record the late lines among ``items`` (a fallback answered their requests); the others."""
        now = time.time()
        endpoint = self._batch.endpoint
        rows = [result_row(m.request_id, m.tenant, v, now, endpoint) for m, v in items if not isinstance(v, Resubmit)]
        if not rows:
            return items
        late = await asyncio.to_thread(divert_late, self._engine, batch_id=self._batch.id, rows=rows, now=now)
        if not late:
            return items
        self.late += len(late)
        self._on_stored(LATE, len(late))
        logger.info("late batch lines recorded, not delivered", extra={"batch_id": self._batch.id, "lines": len(late)})
        return [(m, v) for m, v in items if m.request_id not in late]

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
        await self._keep_lease()
        self._last_renew = time.monotonic()

    def _reply(self, member: MemberRow, answer: Answer) -> asyncio.Future[Message]:
        """Produce a reply to the member's ``reply_to``; if Kafka refuses that destination outright, to the default."""
        try:
            return self._publisher.reply_nowait(member, answer, self._batch)
        except KafkaException:
            if not member.reply_topic:
                raise
            return self._publisher.reply_nowait(member, answer, self._batch, default_topic=True)

    async def _delivered(self, items: list[tuple[MemberRow, Verdict]], futures: list[asyncio.Future[Message]]) -> None:
        """Await every delivery; a reply that could not reach its own ``reply_to`` goes to the default topic."""
        results = await asyncio.gather(*futures, return_exceptions=True)
        retries = []
        for (member, verdict), result in zip(items, results, strict=True):
            if not isinstance(result, BaseException):
                continue
            if isinstance(verdict, Resubmit) or not member.reply_topic:
                raise result
            logger.warning(
                "reply_to unreachable; replying on the default topic",
                extra={"request_id": member.request_id, "reply_topic": member.reply_topic, "error": str(result)},
            )
            retries.append(self._publisher.reply_nowait(member, verdict, self._batch, default_topic=True))
        await asyncio.gather(*retries)

    async def _settle(self, items: list[tuple[MemberRow, Verdict]], futures: list[asyncio.Future[Message]]) -> None:
        """Wait for Kafka's acknowledgement of a chunk, then store it."""
        batch = self._batch
        await self._delivered(items, futures)
        answers = [(m, v) for m, v in items if not isinstance(v, Resubmit)]
        self._on_delivered(len(answers))
        if self._announce is not None:
            await self._announce(answers)
        now = time.time()
        rows = [result_row(m.request_id, m.tenant, v, now, batch.endpoint) for m, v in answers]
        completed = [m.request_id for m, v in answers if v.status is ReplyStatus.COMPLETED]
        failed = [m.request_id for m, v in answers if v.status is not ReplyStatus.COMPLETED]
        resubmitted = [m.request_id for m, v in items if isinstance(v, Resubmit)]
        outcomes = {"completed": completed, "failed": failed, "resubmitted": resubmitted}
        states = {
            RequestState.COMPLETED: completed,
            RequestState.FAILED: failed,
            RequestState.QUEUED: resubmitted,
        }
        async with self._store_lock:
            await asyncio.to_thread(
                store_answers,
                self._engine,
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
                self._on_stored(name, len(ids))
        self.answered += len(answers)
        self.resubmitted += len(resubmitted)
