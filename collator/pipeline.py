"""The window body: from a window's raw records to reserved, submitted and recorded batches.

Order of work for one window (each step idempotent, so a redelivered window is harmless):

1. sort the records: poison → dead-letter topic (awaited);
2. drop members already in a batch, plan the rest (tenant/provider/endpoint/model, caps) and **reserve**
   them as ``pending`` batches in one transaction;
3. **drive** every pending batch this window touches: claim its lease, find-or-create upstream,
   record it (``mark_submitted``), publish ``BatchEvent(submitted)``; or, when upstream stays
   unavailable or rejects it, record it as failed with the error (``mark_submit_failed``) and publish
   ``BatchEvent(terminal)``: the resolver answers its members (the collator never answers callers).

The body never raises: database and Kafka faults are retried here with backoff; anything
unexpected ends the process (``os._exit``) so that the window is never acknowledged unprocessed.

Leases are short: the worker's :class:`~batchgpt.lease_heartbeat.LeaseHeartbeat` keeps the lease of every
batch it reserved or claimed alive until the batch is recorded (however long it waits for a submission slot
or its upload takes), and a periodic :meth:`WindowProcessor.sweep` drives pending batches whose submitter
died (their lease lapsed: within one lease time of the death).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import KafkaException
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from batchgpt.kafka import DeliveryError
from batchgpt.lease_heartbeat import LeaseHeartbeat
from batchgpt.store import batches, deadlines, leases, members
from batchgpt.store.errors import ReservationConflict
from batchgpt.store.records import PendingBatch
from batchgpt.upstream import Backoff, UpstreamError, UpstreamRejected, retry
from collator.crash import CrashHook
from collator.intake import RawRecord, dead_letter_for, sort_window
from collator.lines import jsonl_line
from collator.metrics import CollatorMetrics
from collator.planning import MAX_EMBEDDING_INPUTS, plan_window
from collator.publisher import Publisher
from collator.submitter import SubmitOutcome, Submitter
from schemas.messages import BatchEvent, DeadLetter, RequestCounts, RequestMessage
from schemas.status import BatchEventKind, BatchStatus, Endpoint
from schemas.submission import SubmissionFailure

__all__ = ["Limits", "WindowProcessor", "submission_failure"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_TRANSIENT = (OperationalError, DBAPIError, DeliveryError, KafkaException, ConnectionError, TimeoutError)
_RESERVATION_BACKOFF = Backoff(base_s=0.05, cap_s=2.0)
"""Pause between re-plans once a window lost three reservation races in a row."""


def _transient(exc: BaseException) -> bool:
    """Database and Kafka faults worth retrying (a constraint violation is not one: it is a decision)."""
    return isinstance(exc, _TRANSIENT) and not isinstance(exc, ReservationConflict | IntegrityError)


@dataclass(frozen=True)
class Limits:
    """The caps and timings the processor works with."""

    max_batch_requests: int
    max_batch_bytes: int
    lease_s: float
    max_batch_inputs: int = MAX_EMBEDDING_INPUTS
    submit_concurrency: int = 4
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 30.0
    deadlines: bool = False
    """A deadline fallback is on: requests past their deadline (or claimed by the fallback) leave the window."""


def _die() -> None:
    logging.shutdown()
    os._exit(1)


class WindowProcessor:
    """Processes windows and sweeps abandoned batches; one per worker."""

    def __init__(
        self,
        *,
        engine: Engine,
        publisher: Publisher,
        submitter: Submitter,
        metrics: CollatorMetrics,
        limits: Limits,
        owner: str,
        crash_hook: CrashHook | None = None,
        fatal: Callable[[], None] = _die,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._submitter = submitter
        self._metrics = metrics
        self._limits = limits
        self.owner = owner
        self._crash = crash_hook or CrashHook()
        self._fatal = fatal
        self._clock = clock
        self._backoff = Backoff(base_s=limits.retry_backoff_s, cap_s=limits.retry_backoff_max_s)
        self.heartbeat = LeaseHeartbeat(engine, owner=owner, lease_s=limits.lease_s, clock=clock)
        """Keeps the leases of the batches this worker reserved or claimed alive until they are recorded."""
        self._driving: set[str] = set()
        self._known: dict[str, PendingBatch] = {}
        """Batches this worker just reserved, as reserved (saves re-reading them from the database)."""
        self._submit_slots = asyncio.Semaphore(limits.submit_concurrency)
        self._max_background = limits.submit_concurrency * 4
        self.background: set[asyncio.Task[None]] = set()
        """Submissions of reserved batches still under way: the window that reserved them is already done."""

    async def process_window(self, records: Sequence[RawRecord]) -> None:
        """Handle one window completely; never raises (a fatal fault ends the process)."""
        started = time.monotonic()
        try:
            await self._process(records)
        except Exception:  # the body must never raise: an exception would ack the window unprocessed
            logger.critical("fatal error in the window body; exiting without acking", exc_info=True)
            self._fatal()
            raise
        finally:
            self._metrics.window_seconds.observe(time.monotonic() - started)

    async def sweep(self) -> None:
        """Drive pending batches whose lease expired (their worker died); never raises."""
        try:
            stale = await self._retrying(
                "db.stale_pending", lambda: self._db(leases.stale_pending, self._engine, now=self._clock())
            )
            for batch_id in stale:
                logger.info("taking over an abandoned batch", extra={"batch_id": batch_id})
            await asyncio.gather(*(self.drive(batch_id) for batch_id in stale))
        except Exception:
            logger.critical("fatal error in the sweep; exiting", exc_info=True)
            self._fatal()
            raise

    async def _process(self, records: Sequence[RawRecord]) -> None:
        window = sort_window(records)
        self._metrics.windows.inc()
        self._metrics.window_messages.observe(len(records))
        self._crash("after_consume")
        await self._dead_letter(list(window.dead_letters))
        to_drive = await self._reserve(list(window.requests), window.sources)
        # Once reserved, the requests are durable in the database: the window can be acked and the next one
        # gathered while these batches are uploaded and created (a crash leaves them pending, and the sweep
        # takes them over when their lease lapses). Back-pressure: wait while too many submissions queue up.
        for batch_id in to_drive:
            self._start_drive(batch_id)
        while len(self.background) > self._max_background:
            await asyncio.wait(set(self.background), return_when=asyncio.FIRST_COMPLETED)
        logger.info(
            "window processed",
            extra={
                "messages": len(records),
                "requests": len(window.requests),
                "dead_letters": len(window.dead_letters),
                "batches": len(to_drive),
            },
        )

    def _start_drive(self, batch_id: str) -> None:
        task = asyncio.ensure_future(self.drive(batch_id))
        self.background.add(task)
        task.add_done_callback(self._drive_done)

    def _drive_done(self, task: asyncio.Task[None]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.critical("fatal error while submitting a batch; exiting", exc_info=task.exception())
            self._fatal()

    async def _dead_letter(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        await self._retrying("kafka.dead_letters", functools.partial(self._publisher.dead_letters, letters))
        for letter in letters:
            self._metrics.dead_letters.labels(reason=letter.reason).inc()

    async def _reserve(self, requests: list[RequestMessage], sources: dict[tuple[str, int], RawRecord]) -> list[str]:
        """Reserve the window's new requests as pending batches; the pending batch ids to drive."""
        rounds = 0
        too_large: set[tuple[str, int]] = set()
        while True:
            rounds += 1
            keys = [(r.request_id, r.attempt) for r in requests]
            existing = await self._retrying(
                "db.existing_members", functools.partial(self._db, members.existing_members, self._engine, keys)
            )
            fresh = [r for r in requests if (r.request_id, r.attempt) not in existing]
            fresh = await self._within_deadline(fresh)
            limits = self._limits
            plan = plan_window(
                fresh,
                max_requests=limits.max_batch_requests,
                max_bytes=limits.max_batch_bytes,
                max_inputs=limits.max_batch_inputs,
            )
            await self._dead_letter(
                [
                    dead_letter_for(
                        sources[line.key],
                        "too_large",
                        f"the JSONL line is {len(line.data)} bytes, above BATCHGPT_MAX_BATCH_BYTES",
                    )
                    for line in plan.oversized
                    if line.key not in too_large
                ]
            )
            too_large.update(line.key for line in plan.oversized)
            now = self._clock()
            try:
                await self._retrying(
                    "db.reserve",
                    functools.partial(
                        self._db,
                        batches.reserve,
                        self._engine,
                        plan.batches,
                        owner=self.owner,
                        now=now,
                        lease_s=self._limits.lease_s,
                    ),
                )
            except ReservationConflict:
                logger.info("reservation conflict; re-planning", extra={"round": rounds})
                if rounds > 3:
                    await asyncio.sleep(_RESERVATION_BACKOFF.delay(rounds - 3))
                continue
            self._metrics.duplicates.inc(len(existing))
            pending_existing = {
                batch_id for batch_id, status in existing.values() if status == BatchStatus.PENDING.value
            }
            for p in plan.batches:
                self.heartbeat.hold(p.batch_id, renewed_at=now)
                self._known[p.batch_id] = PendingBatch(
                    batch_id=p.batch_id,
                    tenant=p.tenant,
                    endpoint=p.endpoint,
                    model=p.model,
                    created_at=now,
                    submit_attempts=1,
                    requests=p.members,
                    content=p.content,
                )
            return [p.batch_id for p in plan.batches] + sorted(pending_existing)

    async def _within_deadline(self, requests: list[RequestMessage]) -> list[RequestMessage]:
        """``requests`` but those whose deadline passed or whose fallback was claimed (the resolver answers them)."""
        if not self._limits.deadlines or not requests:
            return requests
        ids = [r.request_id for r in requests]
        left = await self._retrying(
            "db.left_window", functools.partial(self._db, deadlines.left_window, self._engine, ids, now=self._clock())
        )
        if left:
            self._metrics.left_window.inc(len(left))
            logger.info("requests past their deadline left the window", extra={"requests": len(left)})
        return [r for r in requests if r.request_id not in left]

    async def drive(self, batch_id: str) -> None:
        """Submit one pending batch if we can claim it, and record the outcome."""
        if batch_id in self._driving:
            return
        self._driving.add(batch_id)
        try:
            async with self._submit_slots:
                await self._drive(batch_id)
        finally:
            self._driving.discard(batch_id)
            self._known.pop(batch_id, None)
            self.heartbeat.drop(batch_id)

    async def _drive(self, batch_id: str) -> None:
        # a batch this worker reserved and whose lease its heartbeat has kept ever since is still leased to it,
        # with attempt 1 recorded: no claim needed
        known = self._known.get(batch_id)
        held_since_reserved = self.heartbeat.renewed_at(batch_id)
        fresh = known is not None and held_since_reserved is not None
        if not fresh:
            claimed_at = self._clock()
            claimed = await self._retrying(
                "db.claim",
                lambda: self._db(
                    leases.claim_pending,
                    self._engine,
                    batch_id,
                    owner=self.owner,
                    now=claimed_at,
                    lease_s=self._limits.lease_s,
                ),
            )
            if not claimed:
                return
            self.heartbeat.hold(batch_id, renewed_at=claimed_at)
        batch = known or await self._retrying(
            "db.load_pending", lambda: self._db(batches.load_pending, self._engine, batch_id)
        )
        if batch is None:
            return
        content = batch.content or b"".join(jsonl_line(request) for request in batch.requests)

        # the attempt number last recorded (the reservation recorded attempt 1 of a fresh batch)
        recorded: dict[str, int] = {"attempt": 1} if fresh else {}

        async def keep_lease(attempt: int) -> bool:
            """The check before every upstream write: renew in the database (recording the attempt) unless the
            attempt is recorded and the heartbeat extended the lease less than a third of a lease ago."""
            now = self._clock()
            last = self.heartbeat.renewed_at(batch_id)
            if recorded.get("attempt") == attempt and last is not None and now - last < self._limits.lease_s / 3:
                return True  # nobody takes a lease over before it expires, and two thirds of it are left
            kept = bool(
                await self._retrying(
                    "db.renew_lease",
                    lambda: self._db(
                        leases.renew_pending,
                        self._engine,
                        batch_id,
                        owner=self.owner,
                        now=now,
                        lease_s=self._limits.lease_s,
                        attempts=attempt,
                    ),
                )
            )
            if kept:
                recorded["attempt"] = attempt
                self.heartbeat.hold(batch_id, renewed_at=now)
            else:
                self.heartbeat.drop(batch_id)
            return kept

        outcome = await self._submitter.submit(
            batch_id,
            content=content,
            endpoint=batch.endpoint,
            model=batch.model,
            not_before=batch.created_at,
            attempts_so_far=0 if fresh else batch.submit_attempts,
            keep_lease=keep_lease,
            checkpoint=self._crash,
            provider=Endpoint(batch.endpoint).provider.value,
        )
        if outcome.batch is not None:
            await self._record_submitted(batch, outcome, len(content))
        elif outcome.error is not None:
            await self._record_failed(batch, outcome)
        else:
            logger.warning("lost the lease while submitting", extra={"batch_id": batch_id})

    async def _record_submitted(self, batch: PendingBatch, outcome: SubmitOutcome, size: int) -> None:
        upstream = outcome.batch
        assert upstream is not None
        now = self._clock()
        status = upstream.status  # the edge maps a status it does not know to validating
        recorded = await self._retrying(
            "db.mark_submitted",
            lambda: self._db(
                batches.mark_submitted,
                self._engine,
                batch,
                upstream_batch_id=upstream.id,
                input_file_id=upstream.input_file_id,
                status=status,
                attempts=outcome.attempts,
                now=now,
            ),
        )
        self._crash("after_db_write")
        if not recorded:
            return
        self._metrics.batches.labels(outcome="adopted" if outcome.adopted else "submitted").inc()
        self._metrics.lines.inc(len(batch.requests))
        self._metrics.bytes.inc(size)
        event = BatchEvent(
            batch_id=batch.batch_id,
            kind=BatchEventKind.SUBMITTED,
            status=status,
            upstream_batch_id=upstream.id,
            endpoint=Endpoint(batch.endpoint),
            model=batch.model,
            request_counts=RequestCounts(total=len(batch.requests)),
            occurred_at=now,
        )
        await self._retrying("kafka.batch_event", lambda: self._publisher.batch_event(event))
        logger.info(
            "batch submitted",
            extra={
                "batch_id": batch.batch_id,
                "upstream_batch_id": upstream.id,
                "lines": len(batch.requests),
                "bytes": size,
                "model": batch.model,
                "adopted": outcome.adopted,
                "attempts": outcome.attempts,
            },
        )

    async def _record_failed(self, batch: PendingBatch, outcome: SubmitOutcome) -> None:
        """Record the batch as failed with its error; the resolver answers its members."""
        error = outcome.error
        assert error is not None
        now = self._clock()
        failure = submission_failure(error)
        recorded = await self._retrying(
            "db.mark_submit_failed",
            lambda: self._db(
                batches.mark_submit_failed,
                self._engine,
                batch,
                errors=[failure.to_error()],
                attempts=outcome.attempts,
                now=now,
            ),
        )
        if not recorded:
            return
        lines = len(batch.requests)
        self._metrics.batches.labels(outcome="failed").inc()
        self._metrics.failed_requests.inc(lines)
        event = BatchEvent(
            batch_id=batch.batch_id,
            kind=BatchEventKind.TERMINAL,
            status=BatchStatus.FAILED,
            endpoint=Endpoint(batch.endpoint),
            model=batch.model,
            error=str(error),
            request_counts=RequestCounts(total=lines, failed=lines),
            occurred_at=now,
        )
        await self._retrying("kafka.batch_event", lambda: self._publisher.batch_event(event))
        logger.error(
            "batch could not be submitted; recorded as failed for the resolver to answer",
            extra={"batch_id": batch.batch_id, "lines": lines, "error": str(error)},
        )

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def _retrying(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` until it succeeds, backing off on database and Kafka faults (for ever: the body never
        gives up on its own infrastructure; a fatal fault ends the process instead)."""

        def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
            self._metrics.internal_retries.labels(operation=operation).inc()
            logger.warning(
                "transient fault, retrying",
                extra={"operation": operation, "error": str(exc), "attempt": attempt, "delay_s": round(delay, 3)},
            )

        return await retry(call, policy=self._backoff, retry_on=_transient, on_retry=on_retry)


def submission_failure(error: UpstreamError) -> SubmissionFailure:
    """The give-up as data for the ``batches.errors`` entry the resolver answers from."""
    return SubmissionFailure(
        message=str(error),
        rejected=isinstance(error, UpstreamRejected),
        upstream_status=error.status,
        upstream_error=dict(error.body) if isinstance(error.body, dict) else None,
    )
