"""Turns a handler's :data:`~ingress.http.answers.Answer` into the HTTP response, holding the call first if asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi.responses import Response, StreamingResponse

from ingress.admission.records import Records
from ingress.errors import ResultPending
from ingress.http import streaming
from ingress.http.answers import Answer, Held, HeldStream, Replay
from ingress.http.endpoints import fetch_path
from ingress.http.responses import error_response, id_headers, pending_response, result_response
from ingress.metrics import IngressMetrics
from ingress.replies.holder import Holder
from ingress.replies.outcomes import Finished

__all__ = ["AnswerRenderer"]

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class AnswerRenderer:
    """Renders answers; a held one is awaited here, after its handler returned."""

    __slots__ = ("_holder", "_metrics", "_records", "_retry_after_seconds")

    def __init__(self, holder: Holder, records: Records, metrics: IngressMetrics, *, retry_after_seconds: int) -> None:
        self._holder = holder
        self._records = records
        self._metrics = metrics
        self._retry_after_seconds = retry_after_seconds

    async def render(self, answer: Answer) -> Response:
        """The response for ``answer`` (for :class:`Held`, once the result came or the wait ended)."""
        if isinstance(answer, Held):
            return await self._held(answer)
        if isinstance(answer, Finished):
            return result_response(answer, self._retry_after_seconds)
        if isinstance(answer, HeldStream):
            headers = {**_SSE_HEADERS, **id_headers(answer.ticket.request_id)}
            return StreamingResponse(self._events(answer), media_type="text/event-stream", headers=headers)
        if isinstance(answer, Replay):
            events = streaming.replay(answer.result, answer.with_usage)
            headers = {**_SSE_HEADERS, **id_headers(answer.result.request_id, answer.result.upstream_request_id)}
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        return pending_response(answer, self._retry_after_seconds)

    async def _held(self, held: Held) -> Response:
        ticket = held.ticket
        result = await self._holder.hold(ticket.request_id, ticket.future, held.wait_seconds)
        if result is not None:
            if held.started is not None:
                self._metrics.observe_answer(held.endpoint, "completed" if result.ok else "failed", held.started)
            return result_response(result, self._retry_after_seconds)
        if held.started is not None:
            self._metrics.observe_answer(held.endpoint, "pending", held.started)
        if not held.asked_async:
            return error_response(self._still_pending(held), ticket.request_id)
        pending = await self._records.pending(ticket.request_id, held.tenant, held.endpoint.value)
        return pending_response(pending, self._retry_after_seconds)

    def _still_pending(self, held: Held) -> ResultPending:
        """The retryable error of a call that did not ask for a 202: its retry re-attaches at no cost."""
        request_id = held.ticket.request_id
        location = fetch_path(held.endpoint.value, request_id)
        why = "this server is shutting down" if self._holder.draining else "the wait limit of this call passed"
        return ResultPending(
            f"The request {request_id} is still being processed by the Batch API ({why}). The SDK's retry of this "
            "call (or a re-send with the same Idempotency-Key) re-attaches to it at no cost; "
            f"or fetch its result with GET {location}.",
            location=location,
            retry_after_seconds=self._retry_after_seconds,
        )

    async def _events(self, held: HeldStream) -> AsyncIterator[bytes]:
        """Keep-alive comments while held, then the replay and [DONE], or the error event naming the id."""
        ticket = held.ticket
        async with aclosing(self._holder.ticks(ticket.request_id, ticket.future, held.wait_seconds)) as ticks:
            async for _ in ticks:
                yield streaming.KEEPALIVE
        result = ticket.future.result() if ticket.future.done() else None
        if result is None:
            yield streaming.pending_event(ticket.request_id, self._holder.draining)
            return
        async for piece in streaming.replay(result, held.with_usage):
            yield piece
