"""The edge middleware (pure ASGI, outermost): an ``x-request-id`` on every response, and the one place
where an exception that reached the top is logged and answered (with ``on_error``, the error envelope).

An answer about a request already names it in ``x-request-id`` (the provider's request id of its batch
line, else batch-gpt's request id; see :mod:`ingress.http.responses`); every other response gets a fresh
id for the exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.responses import Response

from ingress.admission.ids import new_http_id
from ingress.http.request_reading import Scope

__all__ = ["EdgeMiddleware"]

logger = logging.getLogger(__name__)


class EdgeMiddleware:
    """Stamps ``x-request-id`` on every HTTP response; answers what the app raised with ``on_error``."""

    def __init__(self, app: Any, on_error: Callable[[Scope, Exception], Response]) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", new_http_id().encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - logged once here (Starlette's outer layer would log it again)
            if started:  # too late for an error response: the connection is closed after the partial one
                logger.error("unexpected error after the response started", exc_info=exc, extra={"path": scope["path"]})
                return
            await self.on_error(scope, exc)(scope, receive, send_with_id)
