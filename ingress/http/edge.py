"""The edge middleware (pure ASGI): an ``x-request-id`` on every response, deferred held answers, and the
one place an unexpected exception is logged and answered (OpenAI's 500 envelope, via ``on_error``).

A call that must be held does not wait inside FastAPI's routing stack: its route returns a
:class:`DeferredResponse` carrying the coroutine that waits and builds the real response. The
route's frames, the ``Request``, the parsed body and the dependency caches are then released, and
the wait runs here, one frame above the server, so a held call costs little memory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from ingress.admission.ids import new_http_id

__all__ = ["SCOPE_KEY", "DeferredResponse", "EdgeMiddleware"]

logger = logging.getLogger(__name__)

SCOPE_KEY = "batchgpt.http_request_id"
_DEFERRED_KEY = "batchgpt.deferred"

Scope = dict[str, Any]
Answer = Callable[[], Awaitable[Response]]


class DeferredResponse(Response):
    """A route's promise of a response: :class:`EdgeMiddleware` awaits ``answer()`` and sends its result."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(status_code=202)
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:  # type: ignore[override]
        scope[_DEFERRED_KEY] = self.answer


class EdgeMiddleware:
    """Stamps ``x-request-id`` on every HTTP response and runs deferred answers after the route returned."""

    def __init__(self, app: Any, on_error: Callable[[Scope, Exception], Response]) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_http_id()
        scope[SCOPE_KEY] = request_id
        header = (b"x-request-id", request_id.encode())

        started = False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
            answer: Answer | None = scope.pop(_DEFERRED_KEY, None)
            if answer is not None:
                for key in [k for k in scope if k.startswith("fastapi_")] + ["route", "endpoint"]:
                    scope.pop(key, None)  # the routing stack's leftovers are not needed to send the answer
                response = await answer()
                del answer
                await response(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - logged once here (Starlette's outer layer would log it again)
            if started:  # too late for an error response: the connection is closed after the partial one
                logger.error("unexpected error after the response started", exc_info=exc, extra={"path": scope["path"]})
                return
            await self.on_error(scope, exc)(scope, receive, send_with_id)
