"""Turns a handler's :data:`~ingress.http.answers.Answer` into the HTTP response, holding the call first if asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import Response, StreamingResponse

from ingress.admission.records import Records
from ingress.errors import ResultPending
from ingress.http.answers import Answer, Held, Replay
from ingress.http.endpoints import fetch_path
from ingress.http.responses import error_response, pending_response, result_headers, result_response
from ingress.http.streaming import SSE_HEADERS, Replayer
from ingress.metrics import IngressMetrics
from ingress.outages import Dependency, failed_dependency
from ingress.replies.holder import Holder
from ingress.replies.outcomes import Finished, Pending

__all__ = ["AnswerRenderer"]


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
        if isinstance(answer, Replay):
            return _streamed(answer.result, answer.replayer)
        return pending_response(answer, self._retry_after_seconds)

    async def _held(self, held: Held) -> Response:
        ticket = held.ticket
        result = await self._holder.hold(ticket.request_id, ticket.future, held.wait_seconds)
        if result is not None:
            if held.started is not None:
                self._metrics.observe_answer(held.endpoint, "completed" if result.ok else "failed", held.started)
            if held.stream is not None and result.ok:
                return _streamed(result, held.stream)
            return result_response(result, self._retry_after_seconds)
        if held.started is not None:
            self._metrics.observe_answer(held.endpoint, "pending", held.started)
        if not held.asked_async:
            return error_response(self._still_pending(held), ticket.request_id)
        return pending_response(await self._pending(held), self._retry_after_seconds)

    async def _pending(self, held: Held) -> Pending:
        """The held request's current state; with the database down, the state it had when the call was held.

        The request was accepted (produced) already: its caller gets its 202, never an outage's 503.
        """
        ticket = held.ticket
        try:
            return await self._records.pending(ticket.request_id, held.tenant, held.endpoint.value)
        except Exception as exc:
            if failed_dependency(exc) is not Dependency.DATABASE:
                raise
        return Pending(ticket.request_id, ticket.state, int(ticket.created), held.endpoint.value, ticket.batch_id)

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


def _streamed(result: Finished, replayer: Replayer) -> StreamingResponse:
    """A successful result replayed as ``text/event-stream`` (see :mod:`ingress.http.streaming` for why only a
    success starts a stream: an error is answered with its status, as without ``stream``)."""
    headers = {**SSE_HEADERS, **result_headers(result)}
    return StreamingResponse(_pieces(replayer(result.body)), media_type="text/event-stream", headers=headers)


async def _pieces(events: list[bytes]) -> AsyncIterator[bytes]:
    for piece in events:
        yield piece
