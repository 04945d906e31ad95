"""Accepting a request: re-attach or serve from the cache, else cap, record, produce, and hold.

Re-attach and cache rules (the README's "Re-sending and the cache" says the same to users):

* The same ``Idempotency-Key`` always means the same request: it attaches to it, or answers with its
  result, whatever ``BATCHGPT_CACHE`` or ``Cache-Control`` say (a different body under the key is a 409).
* An **SDK retry** (``x-stainless-retry-count`` ≥ 1) of an identical body from the same caller attaches
  to the newest identical request, under way or finished: the retry that follows a held call's
  ``result_pending`` (or a dropped connection) costs nothing and adds no batch line. A request that
  finished with a *transient* failure (``x-should-retry: true``: 429, 5xx, an expired line) is not
  replayed to the retry it asked for: the retry becomes a new request, a new batch line.
* A **fresh** identical call (no key, retry count 0) is a new request, a new sample, unless the cache
  serves it: a *completed* identical request's successful result answers it when
  :func:`~ingress.admission.cache_policy.may_serve_stored` allows (``BATCHGPT_CACHE``, ``Cache-Control``).
  A failure (4xx, 429, 5xx) is never served to a fresh call.

Identical requests racing on one replica are serialised by a per-fingerprint lock. Lookups and
inserts run in group transactions (``batchgpt.store.admission``, one per batch of concurrent
submissions, under database locks per fingerprint and key), so an SDK retry or a re-used key arriving
through another replica or worker process attaches as well, even at the same instant as the first send.
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
from ingress.replies.retry_hints import retries_into_a_new_request
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
        if item.idempotency_key:
            gate_key = f"idem:{item.tenant}:{item.idempotency_key}"
        elif item.sdk_retry or item.use_cache:
            gate_key = print_
        else:  # a fresh call nothing may serve: a new request, no need to wait for identical ones
            return await self._accept(item, print_)
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

    async def _attach(self, row: RequestRow, item: Submission) -> Ticket | Finished | None:
        """Wait on an existing request: register first, then look for a result stored meanwhile.

        A request still ``queued`` with no batch may never have reached Kafka (its row is written before it is
        produced, and a replica can die between the two): its re-send produces it again before waiting
        (:meth:`Admitter.produce_if_lost`), so it cannot wait for ever; one too young to judge is looked at
        again once it is old enough, while this call waits (:meth:`Admitter.watch_if_young`).

        None when the request finished but its result is gone (purged): it cannot serve this call.
        """
        holder, tenant = self._holder, item.tenant
        delivered = holder.recent(row.request_id)
        if delivered is not None:
            return delivered
        if row.final:
            return await self._records.result(row.request_id, tenant)
        future = holder.register(row.request_id)
        try:
            stored = await self._records.result(row.request_id, tenant)
            if stored is None:
                await self._admitter.produce_if_lost(item, row)
        except BaseException:  # the database or Kafka went away: this call gets its 503, no waiter is left behind
            holder.discard(row.request_id, future)
            raise
        if stored is not None:
            holder.discard(row.request_id, future)
            return stored
        self._admitter.watch_if_young(item, row, future)
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
            return await self._attach(row, item)
        if found.via == "fingerprint":  # an SDK retry: the request it retries, under way or finished
            attached = await self._attach(row, item)
            if isinstance(attached, Finished) and retries_into_a_new_request(attached):
                return None  # the retry the transient failure asked for: a new request, not a replay
            if attached is not None:
                metrics.reattached.labels(via="fingerprint").inc()
            return attached
        # the cache: a completed identical request, or one whose result this replica delivered a moment ago
        stored = self._holder.recent(row.request_id)
        if stored is None and row.final:
            stored = await self._records.result(row.request_id, item.tenant)
        if stored is not None and stored.ok:
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
