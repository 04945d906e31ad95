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
inserts run in group transactions (``batchgpt.store.admission``, one per batch of concurrent submissions,
under database locks per fingerprint and key), so identical sends through other replicas or worker
processes attach as well, even when they arrive at the same instant.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from batchgpt.store import requests, results
from batchgpt.store.admission import Admission, Admitted, NotFound, Outcome, Reuse
from batchgpt.store.records import RequestRow
from ingress.correlator import Waiter
from ingress.errors import Conflict, ServiceUnavailable, TooManyPending
from ingress.fingerprint import fingerprint
from ingress.ids import new_request_id
from ingress.outcomes import Finished
from ingress.runtime import IngressRuntime
from schemas.status import Endpoint, RequestState

__all__ = ["Submission", "Ticket", "submit"]

logger = logging.getLogger(__name__)

_FORGETTING: set[asyncio.Future[None]] = set()  # deletions of rows whose caller was cancelled (kept referenced)


@dataclass(frozen=True, slots=True)
class Submission:
    """One POST, authenticated and validated."""

    tenant: str
    endpoint: Endpoint
    body: dict[str, Any]
    idempotency_key: str | None
    use_cache: bool


@dataclass(slots=True)
class Ticket:
    """A request under way and the registered future of this call (hold it with ``waiting.hold``)."""

    request_id: str
    future: Waiter
    state: str
    created: float
    batch_id: str | None = None


async def _attach(runtime: IngressRuntime, row: RequestRow, tenant: str) -> Ticket | Finished:
    """Wait on an existing request: register first, then look for a result stored meanwhile."""
    delivered = runtime.correlator.recent(row.request_id)
    if delivered is not None:
        return delivered
    future = runtime.correlator.register(row.request_id)
    stored = Finished.maybe_stored(
        await asyncio.to_thread(results.get_result, runtime.engine, request_id=row.request_id, tenant=tenant)
    )
    if stored is not None:
        runtime.correlator.discard(row.request_id, future)
        return stored
    return Ticket(row.request_id, future, row.state, row.received_at, row.batch_id)


async def _use(runtime: IngressRuntime, item: Submission, print_: str, found: Reuse) -> Ticket | Finished | None:
    """Attach to the request found, or answer from its stored result; None when it cannot serve this call."""
    row, metrics = found.row, runtime.metrics
    if found.via == "idempotency_key":
        if row.fingerprint != print_:
            raise Conflict(
                "This Idempotency-Key was already used with a different request body.",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        metrics.reattached.labels(via="idempotency_key").inc()
        return await _attach(runtime, row, item.tenant)
    serve_stored = item.use_cache and item.idempotency_key is None
    if not row.final:
        attached = await _attach(runtime, row, item.tenant)
        if isinstance(attached, Ticket):
            metrics.reattached.labels(via="fingerprint").inc()
            return attached
        # it finished between our lookup and now (its row's state is updated after the reply is stored)
        if serve_stored:
            metrics.cache_hits.inc()
            return attached
        return None
    if serve_stored:
        stored = Finished.maybe_stored(
            await asyncio.to_thread(results.get_result, runtime.engine, request_id=row.request_id, tenant=item.tenant)
        )
        if stored is not None:
            metrics.cache_hits.inc()
            return stored
    return None


async def _admit(
    runtime: IngressRuntime, item: Submission, print_: str, *, may_reuse: bool = True, may_insert: bool = True
) -> tuple[Admission, Outcome]:
    """Look up what to reuse and/or record the request, in the next group transaction."""
    received_at = time.time()
    admission = Admission(
        request_id=new_request_id(),
        tenant=item.tenant,
        endpoint=item.endpoint.value,
        model=str(item.body["model"]),
        fingerprint=print_,
        idempotency_key=item.idempotency_key,
        received_at=received_at,
        since=received_at - runtime.settings.result_ttl_seconds,
        serve_stored=item.use_cache and item.idempotency_key is None,
        may_reuse=may_reuse,
        may_insert=may_insert,
    )
    # a cancelled caller's group still records it: a row nobody will produce must not stay
    forget = functools.partial(_forget_if_recorded, runtime, admission.request_id)
    return admission, await runtime.admissions.submit(admission, on_abandoned=forget)


def _forget_if_recorded(runtime: IngressRuntime, request_id: str, recording: asyncio.Future[Outcome]) -> None:
    if recording.cancelled() or recording.exception() is not None or not isinstance(recording.result(), Admitted):
        return
    task = asyncio.ensure_future(asyncio.to_thread(requests.delete_request, runtime.engine, request_id=request_id))
    _FORGETTING.add(task)
    task.add_done_callback(_FORGETTING.discard)


def _too_many(runtime: IngressRuntime, pending: int) -> TooManyPending:
    return TooManyPending(
        f"Too many pending requests for this API key ({pending}, limit "
        f"{runtime.settings.max_pending_per_key}). Please wait for some to finish and try again.",
        retry_after_seconds=runtime.settings.retry_after_seconds,
    )


async def _publish(runtime: IngressRuntime, item: Submission, admission: Admission) -> Ticket:
    """Produce the recorded request and register its waiter; undo the record if Kafka refuses it."""
    request_id, received_at = admission.request_id, admission.received_at
    future = runtime.correlator.register(request_id)  # before producing: no reply can slip past
    try:
        await runtime.publisher.publish(
            request_id=request_id, endpoint=item.endpoint, body=item.body, tenant=item.tenant, received_at=received_at
        )
    except BaseException:
        runtime.correlator.discard(request_id, future)
        await asyncio.shield(asyncio.to_thread(requests.delete_request, runtime.engine, request_id=request_id))
        raise
    runtime.pending.accepted(item.tenant)
    runtime.metrics.accepted.labels(endpoint=item.endpoint.value).inc()
    logger.info(
        "request accepted",
        extra={
            "request_id": request_id,
            "tenant": item.tenant,
            "endpoint": item.endpoint.value,
            "model": item.body["model"],
        },
    )
    return Ticket(request_id, future, RequestState.QUEUED.value, received_at)


async def _accept(runtime: IngressRuntime, item: Submission, print_: str) -> Ticket | Finished:
    pending = await runtime.pending.estimate(item.tenant)
    at_cap = pending >= runtime.settings.max_pending_per_key
    admission, outcome = await _admit(runtime, item, print_, may_insert=not at_cap)
    if isinstance(outcome, Reuse):
        used = await _use(runtime, item, print_, outcome)
        if used is not None:
            return used
        if at_cap:
            raise _too_many(runtime, pending)
        admission, outcome = await _admit(runtime, item, print_, may_reuse=False)
    if isinstance(outcome, NotFound):
        raise _too_many(runtime, pending)
    return await _publish(runtime, item, admission)


async def submit(runtime: IngressRuntime, item: Submission) -> Ticket | Finished:
    """Attach to the same request under way, answer from its stored result, or accept a new one.

    :raises TooManyPending: the tenant's pending cap is reached (nothing produced).
    :raises ServiceUnavailable: Kafka did not acknowledge, or the replica is shutting down (nothing accepted).
    :raises Conflict: the Idempotency-Key was used with another body.
    """
    if runtime.draining:
        raise ServiceUnavailable(
            "This server is shutting down; please retry.", retry_after_seconds=runtime.settings.retry_after_seconds
        )
    print_ = fingerprint(item.tenant, item.endpoint.value, item.body)
    gate_key = f"idem:{item.tenant}:{item.idempotency_key}" if item.idempotency_key else print_
    async with runtime.gate.hold(gate_key):
        return await _accept(runtime, item, print_)
