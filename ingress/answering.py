"""Answers the POST and GET calls of the completions and embeddings endpoints (the routes stay thin)."""

from __future__ import annotations

import asyncio
import functools
import time

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from batchgpt.store import requests, results
from ingress import streaming
from ingress.errors import NotFound, PayloadTooLarge
from ingress.middleware import DeferredResponse
from ingress.outcomes import Finished
from ingress.preferences import bypasses_cache, wait_preference
from ingress.responses import pending_response, result_response
from ingress.runtime import IngressRuntime
from ingress.submission import Submission, Ticket, submit
from ingress.validation import parse_body, validate_body
from ingress.waiting import hold, hold_streaming, pending_state, replay
from schemas.status import Endpoint

__all__ = ["answer_get", "answer_post", "read_body"]

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing more than ``max_bytes`` (by ``Content-Length`` or while reading)."""
    too_large = PayloadTooLarge(f"The request body is larger than this server accepts ({max_bytes} bytes).", param=None)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    pieces: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > max_bytes:
            raise too_large
        pieces.append(piece)
    return b"".join(pieces)


def _observe(runtime: IngressRuntime, endpoint: Endpoint, outcome: str, started: float) -> None:
    runtime.metrics.latency.labels(endpoint=endpoint.value, outcome=outcome).observe(time.monotonic() - started)


async def answer_post(request: Request, runtime: IngressRuntime, tenant: str, endpoint: Endpoint) -> Response:
    """Validate, submit (or re-attach), hold, and answer one POST."""
    started = time.monotonic()
    settings = runtime.settings
    body = parse_body(await read_body(request, settings.max_body_bytes))
    validate_body(endpoint, body)
    preference = wait_preference(request.headers.get("prefer"), settings.max_wait_seconds)
    use_cache = settings.cache == "on" and not bypasses_cache(request.headers.get("cache-control"))
    idempotency_key = request.headers.get("idempotency-key") or None
    item = Submission(tenant, endpoint, body, idempotency_key[:255] if idempotency_key else None, use_cache)
    outcome = await submit(runtime, item)
    streamed = endpoint is Endpoint.CHAT_COMPLETIONS and body.get("stream") is True and not preference.respond_async
    if isinstance(outcome, Finished):
        _observe(runtime, endpoint, "stored", started)
        if streamed and outcome.ok:
            return StreamingResponse(
                replay(outcome, streaming.include_usage(body)), media_type="text/event-stream", headers=_SSE_HEADERS
            )
        return result_response(outcome)
    if streamed:
        return DeferredResponse(
            functools.partial(
                _streamed_answer, runtime, outcome, preference.wait_seconds, streaming.include_usage(body)
            )
        )
    # the wait runs in the edge middleware, after the routing stack (and the parsed body) were released
    return DeferredResponse(
        functools.partial(_held_answer, runtime, outcome, preference.wait_seconds, tenant, endpoint, started)
    )


async def _streamed_answer(runtime: IngressRuntime, ticket: Ticket, wait_seconds: float, usage: bool) -> Response:
    events = hold_streaming(runtime, ticket.request_id, ticket.future, wait_seconds, usage)
    headers = {**_SSE_HEADERS, "x-batchgpt-request-id": ticket.request_id}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def _held_answer(
    runtime: IngressRuntime,
    ticket: Ticket,
    wait_seconds: float,
    tenant: str,
    endpoint: Endpoint,
    started: float | None,
) -> Response:
    """Hold the call, then answer with the result or 202 (``started`` None: a GET, not observed)."""
    result = await hold(runtime, ticket.request_id, ticket.future, wait_seconds)
    if result is not None:
        if started is not None:
            _observe(runtime, endpoint, "completed" if result.ok else "failed", started)
        return result_response(result)
    pending = await pending_state(runtime, ticket.request_id, tenant, endpoint.value)
    if started is not None:
        _observe(runtime, endpoint, "pending", started)
    return pending_response(pending, runtime.settings.retry_after_seconds)


async def answer_get(request: Request, runtime: IngressRuntime, tenant: str, request_id: str) -> Response:
    """200 with the result, the error when it failed, 202 while pending (``Prefer: wait=N`` holds), 404."""
    engine = runtime.engine
    row = await asyncio.to_thread(requests.get_request, engine, request_id=request_id, tenant=tenant)
    stored = Finished.maybe_stored(
        await asyncio.to_thread(results.get_result, engine, request_id=request_id, tenant=tenant)
    )
    if stored is not None:
        return result_response(stored)
    if row is None:
        raise NotFound(f"No request found with id '{request_id}'.", param="id", code="request_not_found")
    preference = wait_preference(request.headers.get("prefer"), runtime.settings.max_wait_seconds, 0.0)
    if preference.wait_seconds > 0 and not runtime.draining:
        future = runtime.correlator.register(request_id)
        stored = Finished.maybe_stored(
            await asyncio.to_thread(results.get_result, engine, request_id=request_id, tenant=tenant)
        )
        if stored is not None:
            runtime.correlator.discard(request_id, future)
            return result_response(stored)
        ticket = Ticket(request_id, future, row.state, row.received_at, row.batch_id)
        return DeferredResponse(
            functools.partial(
                _held_answer, runtime, ticket, preference.wait_seconds, tenant, Endpoint(row.endpoint), None
            )
        )
    pending = await pending_state(runtime, request_id, tenant, row.endpoint)
    return pending_response(pending, runtime.settings.retry_after_seconds)
