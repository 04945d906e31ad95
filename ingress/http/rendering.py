"""Turns a handler's :data:`~ingress.http.answers.Answer` into the HTTP response, holding the call first if asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import Response, StreamingResponse

from ingress.admission.records import Records
from ingress.http.answers import Answer, Held, Replay
from ingress.http.responses import pending_response, result_headers, result_response
from ingress.http.streaming import SSE_HEADERS, Replayer
from ingress.metrics import IngressMetrics
from ingress.replies.holder import Holder
from ingress.replies.outcomes import Finished

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
            return result_response(answer)
        if isinstance(answer, Replay):
            return _streamed(answer.result, answer.replayer)
        return pending_response(answer, self._retry_after_seconds)

    async def _held(self, held: Held) -> Response:
        ticket = held.ticket
        result = await self._holder.hold(ticket.request_id, ticket.future, held.wait_seconds)
        if result is not None:
            if held.started is not None:
                self._metrics.observe_answer(held.endpoint, "completed" if result.ok else "failed", held.started)
            return _streamed(result, held.stream) if held.stream is not None and result.ok else result_response(result)
        pending = await self._records.pending(ticket.request_id, held.tenant, held.endpoint.value)
        if held.started is not None:
            self._metrics.observe_answer(held.endpoint, "pending", held.started)
        return pending_response(pending, self._retry_after_seconds)


def _streamed(result: Finished, replayer: Replayer) -> StreamingResponse:
    """A successful result replayed as ``text/event-stream`` (see :mod:`ingress.http.streaming` for why only a
    success starts a stream: an error is answered with its status, as without ``stream``)."""
    headers = {**SSE_HEADERS, **result_headers(result)}
    return StreamingResponse(_pieces(replayer(result.body)), media_type="text/event-stream", headers=headers)


async def _pieces(events: list[bytes]) -> AsyncIterator[bytes]:
    for piece in events:
        yield piece
