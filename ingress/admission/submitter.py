"""Accepting a request: re-attach or serve from the cache, else cap, record, produce, and hold.

Cache semantics (documented in the README of the HTTP API as well):

* An identical request (same tenant, endpoint and body, ``stream`` fields aside) that is still **in
  flight** is always attached to: the caller waits for the same result, and no second batch line
  is ever made, whatever ``BATCHGPT_CACHE`` or ``Cache-Control`` say.
* A **finished** identical request is served from its stored result when ``BATCHGPT_CACHE=on`` and
  the request does not say ``Cache-Control: no-cache``; otherwise a fresh request is submitted.
* The same ``Idempotency-Key`` always means the same request: it attaches or answers from the stored
  result even with the cache off (a different body under the same key is a 409).

Identical requests racing on one replica are serialised by a per-fingerprint lock. Lookups and
inserts run in group transactions (``batchgpt.store.admission``, one per batch of concurrent
submissions, under database locks per fingerprint and key), so identical sends through other replicas
or worker processes attach as well, even when they arrive at the same instant.
"""

from __future__ import annotations

from batchgpt.store.admission import Admission, NotFound, Reuse
from batchgpt.store.records import RequestRow
from ingress.admission.admitter import Admitter
from ingress.admission.fingerprint import fingerprint
from ingress.admission.keyed_lock import KeyedLock
from ingress.admission.records import Records
from ingress.admission.submission import Submission, Ticket
from ingress.errors import Conflict, ServiceUnavailable
from ingress.metrics import IngressMetrics
from ingress.process.drain import Drain
from ingress.replies.holder import Holder
from ingress.replies.outcomes import Finished
from schemas.status import RequestState

__all__ = ["Submitter"]


class Submitter:
    """Turns a :class:`Submission` into a :class:`Ticket` to hold, or the stored result that answers it."""

    def __init__(
        self,
        admitter: Admitter,
        holder: Holder,
        records: Records,
        metrics: IngressMetrics,
        drain: Drain,
        *,
        retry_after_seconds: int,
    ) -> None:
        self._admitter = admitter
        self._holder = holder
        self._records = records
        self._metrics = metrics
        self._drain = drain
        self._retry_after_seconds = retry_after_seconds
        self._gate = KeyedLock()

    async def submit(self, item: Submission) -> Ticket | Finished:
        """Attach to the same request under way, answer from its stored result, or accept a new one.

        :raises TooManyPending: the tenant's pending cap is reached (nothing produced).
        :raises ServiceUnavailable: Kafka did not acknowledge, or the replica is shutting down (nothing accepted).
        :raises Conflict: the Idempotency-Key was used with another body.
        """
        if self._drain.draining:
            raise ServiceUnavailable(
                "This server is shutting down; please retry.", retry_after_seconds=self._retry_after_seconds
            )
        print_ = fingerprint(item.tenant, item.endpoint.value, item.body)
        gate_key = f"idem:{item.tenant}:{item.idempotency_key}" if item.idempotency_key else print_
        async with self._gate.hold(gate_key):
            return await self._accept(item, print_)

    async def _accept(self, item: Submission, print_: str) -> Ticket | Finished:
        admitter = self._admitter
        pending = await admitter.pending_count(item.tenant)
        at_cap = admitter.at_cap(pending)
        admission, outcome = await admitter.admit(item, print_, may_insert=not at_cap)
        if isinstance(outcome, Reuse):
            used = await self._use(item, print_, outcome)
            if used is not None:
                return used
            if at_cap:
                raise admitter.too_many(pending)
            admission, outcome = await admitter.admit(item, print_, may_reuse=False)
        if isinstance(outcome, NotFound):
            raise admitter.too_many(pending)
        return await self._publish(item, admission)

    async def _attach(self, row: RequestRow, tenant: str) -> Ticket | Finished:
        """Wait on an existing request: register first, then look for a result stored meanwhile."""
        holder = self._holder
        delivered = holder.recent(row.request_id)
        if delivered is not None:
            return delivered
        future = holder.register(row.request_id)
        stored = await self._records.result(row.request_id, tenant)
        if stored is not None:
            holder.discard(row.request_id, future)
            return stored
        return Ticket(row.request_id, future, row.state, row.received_at, row.batch_id)

    async def _use(self, item: Submission, print_: str, found: Reuse) -> Ticket | Finished | None:
        """Attach to the request found, or answer from its stored result; None when it cannot serve this call."""
        row, metrics = found.row, self._metrics
        if found.via == "idempotency_key":
            if row.fingerprint != print_:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request body.",
                    param="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            metrics.reattached.labels(via="idempotency_key").inc()
            return await self._attach(row, item.tenant)
        serve_stored = item.use_cache and item.idempotency_key is None
        if not row.final:
            attached = await self._attach(row, item.tenant)
            if isinstance(attached, Ticket):
                metrics.reattached.labels(via="fingerprint").inc()
                return attached
            # it finished between our lookup and now (its row's state is updated after the reply is stored)
            if serve_stored:
                metrics.cache_hits.inc()
                return attached
            return None
        if serve_stored:
            stored = await self._records.result(row.request_id, item.tenant)
            if stored is not None:
                metrics.cache_hits.inc()
                return stored
        return None

    async def _publish(self, item: Submission, admission: Admission) -> Ticket:
        """Register the waiter (before producing: no reply can slip past), then produce."""
        request_id = admission.request_id
        future = self._holder.register(request_id)
        try:
            await self._admitter.publish(item, admission)
        except BaseException:
            self._holder.discard(request_id, future)
            raise
        return Ticket(request_id, future, RequestState.QUEUED.value, admission.received_at)
