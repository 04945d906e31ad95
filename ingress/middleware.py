"""The edge middleware (pure ASGI): an ``x-request-id`` on every response, and deferred held answers.

A call that must be held does not wait inside FastAPI's routing stack: its route returns a
:class:`DeferredResponse` carrying the coroutine that waits and builds the real response. The
route's frames, the ``Request``, the parsed body and the dependency caches are then released, and
the wait runs here, one frame above the server, so a held call costs little memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from ingress.ids import new_http_id

__all__ = ["SCOPE_KEY", "DeferredResponse", "EdgeMiddleware"]

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

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_http_id()
        scope[SCOPE_KEY] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
        answer: Answer | None = scope.pop(_DEFERRED_KEY, None)
        if answer is not None:
            for key in [k for k in scope if k.startswith("fastapi_")] + ["route", "endpoint"]:
                scope.pop(key, None)  # the routing stack's leftovers are not needed to send the answer
            response = await answer()
            del answer
            await response(scope, receive, send_with_id)
