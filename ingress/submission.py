"""Accepting a request: re-attach or serve from the cache, else cap, record, produce, and hold.

Cache semantics (documented in the README of the HTTP API as well):

* An identical request (same tenant, endpoint and body, ``stream`` fields aside) that is still **in
  flight** is always attached to: the caller waits for the same result, and no second batch line
  is ever made, whatever ``BATCHGPT_CACHE`` or ``Cache-Control`` say.
* A **finished** identical request is served from its stored result when ``BATCHGPT_CACHE=on`` and
  the request does not say ``Cache-Control: no-cache``; otherwise a fresh request is submitted.
* The same ``Idempotency-Key`` always means the same request: it attaches or answers from the stored
  result even with the cache off (a different body under the same key is a 409).

Identical requests racing on one replica are serialised by a per-fingerprint lock; the database
lookups make re-sends through another replica attach as well.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from ingress import repository
from ingress.correlator import Waiter
from ingress.errors import Conflict, ServiceUnavailable, TooManyPending
from ingress.fingerprint import fingerprint
from ingress.ids import new_request_id
from ingress.outcomes import Finished
from ingress.repository import DuplicateIdempotencyKey, RequestRow
from ingress.runtime import IngressRuntime
from schemas.status import Endpoint, RequestState

__all__ = ["Submission", "Ticket", "submit"]

logger = logging.getLogger(__name__)


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
    stored = await asyncio.to_thread(repository.get_result, runtime.engine, request_id=row.request_id, tenant=tenant)
    if stored is not None:
        runtime.correlator.discard(row.request_id, future)
        return stored
    return Ticket(row.request_id, future, row.state, row.received_at, row.batch_id)


async def _reuse(runtime: IngressRuntime, item: Submission, print_: str) -> Ticket | Finished | None:
    engine, metrics = runtime.engine, runtime.metrics
    if item.idempotency_key is not None:
        row = await asyncio.to_thread(
            repository.find_by_idempotency_key, engine, tenant=item.tenant, key=item.idempotency_key
        )
        if row is not None:
            if row.fingerprint != print_:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request body.",
                    param="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            metrics.reattached.labels(via="idempotency_key").inc()
            return await _attach(runtime, row, item.tenant)
    since = time.time() - runtime.settings.result_ttl_seconds
    row = await asyncio.to_thread(
        repository.find_by_fingerprint, engine, tenant=item.tenant, fingerprint=print_, since=since
    )
    if row is None:
        return None
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
        stored = await asyncio.to_thread(repository.get_result, engine, request_id=row.request_id, tenant=item.tenant)
        if stored is not None:
            metrics.cache_hits.inc()
            return stored
    return None


async def _check_cap(runtime: IngressRuntime, tenant: str) -> None:
    pending = await runtime.pending.estimate(tenant)
    if pending >= runtime.settings.max_pending_per_key:
        raise TooManyPending(
            f"Too many pending requests for this API key ({pending}, limit "
            f"{runtime.settings.max_pending_per_key}). Please wait for some to finish and try again.",
            retry_after_seconds=runtime.settings.retry_after_seconds,
        )


async def _submit_new(runtime: IngressRuntime, item: Submission, print_: str) -> Ticket:
    await _check_cap(runtime, item.tenant)
    request_id, received_at = new_request_id(), time.time()
    await asyncio.to_thread(
        repository.insert_request,
        runtime.engine,
        request_id=request_id,
        tenant=item.tenant,
        endpoint=item.endpoint.value,
        model=str(item.body["model"]),
        fingerprint=print_,
        idempotency_key=item.idempotency_key,
        received_at=received_at,
    )
    future = runtime.correlator.register(request_id)  # before producing: no reply can slip past
    try:
        await runtime.publisher.publish(
            request_id=request_id, endpoint=item.endpoint, body=item.body, tenant=item.tenant, received_at=received_at
        )
    except BaseException:
        runtime.correlator.discard(request_id, future)
        await asyncio.shield(asyncio.to_thread(repository.delete_request, runtime.engine, request_id=request_id))
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
        reused = await _reuse(runtime, item, print_)
        if reused is not None:
            return reused
        try:
            return await _submit_new(runtime, item, print_)
        except DuplicateIdempotencyKey:  # the same key sent at the same moment through another replica
            again = await _reuse(runtime, item, print_)
            if again is None:
                raise
            return again
