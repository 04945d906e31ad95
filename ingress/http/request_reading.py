"""Reading an HTTP request straight from ASGI: the few headers ingress looks at, and the bounded body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect

from ingress.errors import PayloadTooLarge

__all__ = ["Receive", "Scope", "read_body", "request_headers"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

_READ = frozenset(
    {
        b"authorization",
        b"content-length",
        b"prefer",
        b"cache-control",
        b"idempotency-key",
        b"x-stainless-read-timeout",
        b"x-stainless-retry-count",
        b"batchgpt-deadline",
    }
)


def request_headers(scope: Scope) -> dict[str, str]:
    """The headers ingress reads, by lower-case name (the first of repeated ones), in one pass."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in _READ:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


async def read_body(receive: Receive, content_length: str | None, max_bytes: int) -> bytes:
    """The raw body, refusing more than ``max_bytes`` (by ``Content-Length`` or while reading).

    :raises ClientDisconnect: the caller went away before the body was read.
    """
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise _too_large(max_bytes)
    pieces: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        piece: bytes = message.get("body", b"")
        if piece:
            size += len(piece)
            if size > max_bytes:
                raise _too_large(max_bytes)
            pieces.append(piece)
        if not message.get("more_body", False):
            return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than this server accepts ({max_bytes} bytes).", param=None)
