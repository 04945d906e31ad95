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
from ingress.admission.pending_cap import PendingCounter
from ingress.admission.publisher import RequestPublisher
from ingress.admission.records import Records
from ingress.admission.submission import Submission
from ingress.errors import TooManyPending
from ingress.metrics import IngressMetrics
from schemas.codec import encode
from schemas.messages import RequestMessage, body_model
from schemas.status import RequestState

__all__ = ["AdmissionLimits", "Admitter"]

logger = logging.getLogger(__name__)


LOST_PRODUCE_AFTER_SECONDS = 2.0
"""How old a ``queued`` row without a batch must be before a re-send produces its request again (a produce
normally takes milliseconds; a copy the collator did receive is dropped there)."""


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
        logger.info(
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

        A row is written before its request is produced. One still ``queued`` with no batch a little while
        after it was received (:data:`LOST_PRODUCE_AFTER_SECONDS`) was either produced (the collator has not
        batched it yet) or lost with a replica killed between the two writes: producing it again is safe (the
        collator drops the copy: the same request id and attempt, in one window or already in a batch) and is
        the only way its re-sent call can ever be answered. Its row stays as it is.

        :raises ServiceUnavailable: Kafka did not acknowledge it.
        """
        if row.state != RequestState.QUEUED.value or row.batch_id is not None:
            return
        if time.time() - row.received_at <= min(self._publisher.timeout_seconds, LOST_PRODUCE_AFTER_SECONDS):
            return  # its first produce is most likely still under way
        await self._publisher.publish(self._message(item, row.request_id, row.received_at))
        self._metrics.produced_again.inc()
        logger.info("request produced again", extra={"request_id": row.request_id, "tenant": item.tenant})

    async def close(self) -> None:
        """Wait for the groups already queued to be written."""
        await self.committer.close()
