"""The admitter: group-committed lookups and inserts, the per-key pending cap, and producing to Kafka.

It records a submission (or finds the request it must reuse) in the next group transaction
(:mod:`batchgpt.store.admission`), produces an accepted request and undoes its row when Kafka
refuses it or its caller went away, and keeps each tenant's pending count for the cap.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass

from batchgpt.store.admission import Admission, Admitted, Outcome, admit_group
from batchgpt.store.records import RequestRow
from ingress.admission.group_commit import GroupCommitter
from ingress.admission.ids import new_request_id
from ingress.admission.lost_produce import check_delay, lost_after, may_be_lost
from ingress.admission.pending_cap import PendingCounter
from ingress.admission.publisher import RequestPublisher
from ingress.admission.records import Records
from ingress.admission.submission import Submission
from ingress.errors import TooManyPending
from ingress.metrics import IngressMetrics
from ingress.replies.correlator import Waiter
from schemas.codec import encode
from schemas.messages import RequestMessage, body_model

__all__ = ["AdmissionLimits", "Admitter"]

logger = logging.getLogger(__name__)


WATCH_ATTEMPTS = 5
"""How many times a watch over a young request looks again after a failed look or produce (database or Kafka
away), one produce's time apart, before leaving it to the caller's next re-send."""


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    """The settings admission applies."""

    max_pending_per_key: int
    result_ttl_seconds: float  # identical requests older than this are not reused
    retry_after_seconds: int
    max_group: int  # submissions per group transaction


class Admitter:
    """Admits submissions: look up or record (grouped), cap, produce."""

    def __init__(
        self, records: Records, publisher: RequestPublisher, metrics: IngressMetrics, limits: AdmissionLimits
    ) -> None:
        self._records = records
        self._publisher = publisher
        self._metrics = metrics
        self._limits = limits
        engine = records.engine
        self.committer: GroupCommitter[Admission, Outcome] = GroupCommitter(
            lambda group: admit_group(engine, group),
            max_group=limits.max_group,
            on_group=metrics.admission_group.observe,
        )
        self.pending = PendingCounter(self._count_pending)
        self._forgetting: set[asyncio.Future[None]] = set()  # deletions for cancelled callers (kept referenced)
        self._watching: set[asyncio.Task[None]] = set()  # watches over young re-attached requests (kept referenced)
        self._lost_after = lost_after(publisher.timeout_seconds)

    async def _count_pending(self, tenant: str) -> int:
        return await self._records.count_pending(tenant, time.time() - self._limits.result_ttl_seconds)

    async def pending_count(self, tenant: str) -> int:
        """The tenant's pending requests (an estimate that errs on the strict side)."""
        return await self.pending.estimate(tenant)

    def at_cap(self, pending: int) -> bool:
        """Whether ``pending`` requests leave no room for another one."""
        return pending >= self._limits.max_pending_per_key

    def too_many(self, pending: int) -> TooManyPending:
        """The 429 for a tenant at its cap."""
        return TooManyPending(
            f"Too many pending requests for this API key ({pending}, limit "
            f"{self._limits.max_pending_per_key}). Please wait for some to finish and try again.",
            retry_after_seconds=self._limits.retry_after_seconds,
        )

    def _message(self, item: Submission, request_id: str, received_at: float) -> RequestMessage:
        """The requests-topic message of ``item`` recorded as ``request_id``."""
        return self._publisher.message(
            request_id=request_id,
            endpoint=item.endpoint,
            body=item.body,
            tenant=item.tenant,
            received_at=received_at,
            notify=item.notify,
        )

    async def admit(
        self, item: Submission, fingerprint: str, *, may_reuse: bool = True, may_insert: bool = True
    ) -> tuple[Admission, Outcome]:
        """Look up what to reuse and/or record the request, in the next group transaction."""
        received_at = time.time()
        request_id = new_request_id()
        deadline_at, fallback_request = None, None
        if item.deadline_seconds is not None:
            deadline_at = received_at + item.deadline_seconds
            fallback_request = encode(self._message(item, request_id, received_at)).decode()
        admission = Admission(
            request_id=request_id,
            tenant=item.tenant,
            endpoint=item.endpoint.value,
            model=body_model(item.body),
            fingerprint=fingerprint,
            idempotency_key=item.idempotency_key,
            received_at=received_at,
            since=received_at - self._limits.result_ttl_seconds,
            serve_stored=item.use_cache and item.idempotency_key is None,
            may_reuse=may_reuse,
            may_insert=may_insert,
            reattach=item.sdk_retry,
            deadline_at=deadline_at,
            fallback_request=fallback_request,
        )
        # a cancelled caller's group still records it: a row nobody will produce must not stay
        forget = functools.partial(self._forget_if_recorded, admission.request_id)
        return admission, await self.committer.submit(admission, on_abandoned=forget)

    def _forget_if_recorded(self, request_id: str, recording: asyncio.Future[Outcome]) -> None:
        if recording.cancelled() or recording.exception() is not None or not isinstance(recording.result(), Admitted):
            return
        task = asyncio.ensure_future(self._records.forget(request_id))
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)

    async def publish(self, item: Submission, admission: Admission) -> None:
        """Produce the recorded request; its row is deleted again if Kafka refuses it (or the caller left).

        :raises ServiceUnavailable: Kafka did not acknowledge it (nothing accepted).
        """
        request_id = admission.request_id
        try:
            await self._publisher.publish(self._message(item, request_id, admission.received_at))
        except BaseException:
            await asyncio.shield(self._records.forget(request_id))
            raise
        self.pending.accepted(item.tenant)
        self._metrics.accepted.labels(endpoint=item.endpoint.value).inc()
        logger.debug(  # one line per request: at INFO it cost 5 % of the ingress's CPU (py-spy, 400 req/s)
            "request accepted",
            extra={
                "request_id": request_id,
                "tenant": item.tenant,
                "endpoint": item.endpoint.value,
                "model": body_model(item.body),
            },
        )

    async def produce_if_lost(self, item: Submission, row: RequestRow) -> None:
        """Produce a recorded request once more when its first produce may have died with its replica.

        ``row`` must be as the database holds it now, and the request without a stored result
        (:func:`~ingress.admission.lost_produce.may_be_lost` says why producing it again is safe). Its row stays
        as it is.

        :raises ServiceUnavailable: Kafka did not acknowledge it.
        """
        age = time.time() - row.received_at
        if may_be_lost(row.state, row.batch_id, has_result=False, age_seconds=age, after_seconds=self._lost_after):
            await self._produce_again(item, row)

    async def _produce_again(self, item: Submission, row: RequestRow) -> None:
        await self._publisher.publish(self._message(item, row.request_id, row.received_at))
        self._metrics.produced_again.inc()
        logger.info("request produced again", extra={"request_id": row.request_id, "tenant": item.tenant})

    @property
    def watching(self) -> int:
        """How many watches over young re-attached requests are under way."""
        return len(self._watching)

    def watch_if_young(self, item: Submission, row: RequestRow, answered: Waiter) -> None:
        """Look at a re-attached request again once it is old enough to judge, and produce it if it was lost.

        A re-send that attaches to a ``queued`` row with no batch younger than its first produce's time cannot
        tell yet whether that produce died with its replica. Rather than leave its caller waiting for its wait
        limit, a task looks at the row again (from the database) once it is old enough, and produces it again
        when it still may be lost. The task ends when ``answered`` gets its result and on :meth:`close`; a call
        that did not wait (answered 202 at once) keeps its watch: its caller polls ``GET``, which cannot produce.
        """
        age = time.time() - row.received_at
        delay = check_delay(row.state, row.batch_id, age_seconds=age, after_seconds=self._lost_after)
        if delay is None or answered.done():
            return
        task = asyncio.create_task(self._watch(item, row.request_id, delay, answered))
        self._watching.add(task)
        task.add_done_callback(self._watching.discard)
        answered.add_done_callback(lambda _: task.cancel())

    async def _watch(self, item: Submission, request_id: str, delay: float, answered: Waiter) -> None:
        records, after, attempts = self._records, self._lost_after, 0
        while True:
            await asyncio.sleep(delay)
            try:
                row = await records.request(request_id, item.tenant)
                if row is None or answered.done():
                    return
                has_result = await records.result(request_id, item.tenant) is not None
                age = time.time() - row.received_at
                if may_be_lost(row.state, row.batch_id, has_result=has_result, age_seconds=age, after_seconds=after):
                    await self._produce_again(item, row)
                    return
                next_look = check_delay(row.state, row.batch_id, age_seconds=age, after_seconds=after)
                if has_result or next_look is None:
                    return
                delay = next_look
            except Exception:
                attempts += 1
                if attempts >= WATCH_ATTEMPTS:
                    logger.warning("lost-produce watch gave up", extra={"request_id": request_id}, exc_info=True)
                    return
                delay = after

    async def close(self) -> None:
        """Stop the watches over young requests; wait for the groups already queued to be written."""
        watching = list(self._watching)
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
        await self.committer.close()
