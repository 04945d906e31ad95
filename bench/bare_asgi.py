"""A bare ASGI app on uvicorn, served with the ingress's options (``ingress.__main__.SERVER_OPTIONS``: uvloop,
httptools, no access log): it reads each request's body and answers every POST with the same small JSON. What
HTTP in and out costs a process on this machine before any batch-gpt code runs (``bench/floor.py`` measures it).

    python -m bench.bare_asgi --port 8000
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

__all__ = ["ANSWER", "app", "main"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

ANSWER = b'{"id":"chatcmpl-floor","object":"chat.completion","choices":[]}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(
    scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
) -> None:
    """Read the whole body, answer :data:`ANSWER` (200)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_asgi", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    from ingress.__main__ import SERVER_OPTIONS

    uvicorn.run(app, host="127.0.0.1", port=args.port, lifespan="off", **SERVER_OPTIONS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
