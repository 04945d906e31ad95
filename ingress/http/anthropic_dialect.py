"""Anthropic's dialect on ``/v1/messages`` (pure ASGI, outermost): its key header in, its error body out.

* **In**: the anthropic SDK sends the client key in ``x-api-key`` (``api_key=``) or as
  ``Authorization: Bearer`` (``auth_token=``); a call with ``x-api-key`` and no ``Authorization`` gets
  ``Authorization: Bearer <key>``, so the one key check (:mod:`ingress.http.auth`) serves both.
  ``anthropic-version`` and ``anthropic-beta`` are accepted and otherwise ignored.
* **Out**: every error answer on these paths (ingress's own refusals: 400, 401, 404, 413, 429, 503, 504;
  and any stored failure not yet in that shape) becomes Anthropic's ``{"type": "error", "error": {"type",
  "message"}}`` with the type its status means, its status and headers (``x-should-retry``, ``Retry-After``,
  ``Location``) unchanged. A result's own Anthropic error body passes through as it is.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, MutableMapping
from typing import Any

from ingress.http.request_reading import Scope
from schemas.anthropic_errors import as_anthropic_error, is_anthropic_error
from schemas.status import Endpoint

__all__ = ["AnthropicDialect", "speaks_anthropic"]

_PATH = Endpoint.MESSAGES.value


def speaks_anthropic(path: str) -> bool:
    """Whether ``path`` is ``/v1/messages`` or below it."""
    return path == _PATH or path.startswith(_PATH + "/")


def _with_bearer(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with ``authorization: Bearer <x-api-key>`` added when only ``x-api-key`` carries the key."""
    names = {name.lower() for name, _ in headers}
    if b"authorization" in names:
        return headers
    key = next((value for name, value in headers if name.lower() == b"x-api-key"), None)
    return headers if key is None else [*headers, (b"authorization", b"Bearer " + key)]


def _reshaped(status: int, raw: bytes) -> bytes | None:
    """The error body in Anthropic's shape (None: it already is, or is not JSON)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if is_anthropic_error(body):
        return None
    return json.dumps(as_anthropic_error(status, body), separators=(",", ":"), ensure_ascii=False).encode()


class AnthropicDialect:
    """Speaks Anthropic's dialect on ``/v1/messages``; passes every other exchange through untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Any, send: Any) -> Awaitable[None]:
        """Any other exchange is the inner app's own awaitable (no frame of this layer stays while it runs)."""
        if scope["type"] != "http" or not speaks_anthropic(scope["path"]):
            return self.app(scope, receive, send)  # type: ignore[no-any-return]
        return self._speak(scope, receive, send)

    async def _speak(self, scope: Scope, receive: Any, send: Any) -> None:
        scope = {**scope, "headers": _with_bearer(list(scope.get("headers", ())))}
        start: MutableMapping[str, Any] | None = None
        chunks: list[bytes] = []

        async def send_reshaped(message: MutableMapping[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message  # held until the whole error body is read
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            raw = b"".join(chunks)
            body = _reshaped(start["status"], raw)
            headers = list(start.get("headers", ()))
            if body is not None:
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body if body is not None else raw})

        await self.app(scope, receive, send_reshaped)
