"""Holding a call until its result arrives, the wait ends, or the replica drains.

A held call costs one future in the correlator and its own (already running) handler; there is no
per-call task or timer beyond the ``asyncio.timeout`` of the wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from batchgpt.store import requests
from ingress import streaming
from ingress.correlator import Waiter
from ingress.outcomes import Finished, Pending
from ingress.runtime import IngressRuntime
from schemas.status import RequestState

__all__ = ["hold", "hold_streaming", "pending_state"]


async def hold(runtime: IngressRuntime, request_id: str, future: Waiter, wait_seconds: float) -> Finished | None:
    """Wait for ``future`` up to ``wait_seconds``; None when the wait ended without a result."""
    if runtime.draining or wait_seconds <= 0:
        runtime.correlator.discard(request_id, future)
        return future.result() if future.done() else None
    runtime.metrics.held.inc()
    try:
        async with asyncio.timeout(wait_seconds):
            return await future
    except TimeoutError:
        return None
    finally:
        runtime.metrics.held.dec()
        runtime.correlator.discard(request_id, future)


async def pending_state(runtime: IngressRuntime, request_id: str, tenant: str, endpoint: str) -> Pending:
    """The request's current state, for a 202 answer."""
    row = await asyncio.to_thread(requests.get_request, runtime.engine, request_id=request_id, tenant=tenant)
    if row is None:
        return Pending(request_id, RequestState.QUEUED.value, int(time.time()), endpoint)
    state = row.state if not row.final else RequestState.IN_PROGRESS.value
    return Pending(request_id, state, int(row.received_at), row.endpoint, row.batch_id)


def _timeout_envelope(request_id: str, draining: bool) -> dict[str, object]:
    why = "this server is shutting down" if draining else "the wait limit passed"
    return {
        "error": {
            "message": f"The request {request_id} is still being processed ({why}). "
            f"Fetch its result later with GET /v1/chat/completions/{request_id}.",
            "type": "timeout",
            "param": None,
            "code": "result_pending",
            "request_id": request_id,
        }
    }


async def hold_streaming(
    runtime: IngressRuntime, request_id: str, future: Waiter, wait_seconds: float, with_usage: bool
) -> AsyncIterator[bytes]:
    """Server-sent events for a streamed call: keep-alive comments while waiting, then the replay and [DONE]."""
    deadline = time.monotonic() + wait_seconds
    runtime.metrics.held.inc()
    try:
        while not future.done() and not runtime.draining:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.wait((future,), timeout=min(runtime.settings.keepalive_seconds, remaining))
            if not future.done():
                yield streaming.KEEPALIVE
    finally:
        runtime.metrics.held.dec()
        runtime.correlator.discard(request_id, future)
    result = future.result() if future.done() else None
    if result is None:
        yield streaming.error_event(_timeout_envelope(request_id, runtime.draining))
        return
    async for piece in replay(result, with_usage):
        yield piece


async def replay(result: Finished, with_usage: bool) -> AsyncIterator[bytes]:
    """The events of a finished result: chunks then [DONE], or the error event."""
    if not result.ok:
        yield streaming.error_event(result.body)
        return
    for chunk in streaming.completion_chunks(result.body, with_usage):
        yield streaming.event(chunk)
    yield streaming.DONE
