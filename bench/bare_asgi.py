"""A bare ASGI app on uvicorn, served with the ingress's options (``ingress.__main__.SERVER_OPTIONS``: uvloop,
httptools, no access log): it reads each request's body and answers every POST with the same small JSON. What
HTTP in and out costs a process on this machine before any batch-gpt code runs (``bench/floor.py`` measures it).

With ``--hold`` it is instead the floor of a held call (``python -m bench.ingress_memory --bare``): a POST asking
``Prefer: respond-async`` is answered at once (the warm-up), every other POST waits on a future nobody sets (no
timer, no bookkeeping: less than the ingress's hold), and ``GET /metrics`` says how many are held, in the
ingress's metric name.

    python -m bench.bare_asgi --port 8000 [--hold]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

__all__ = ["ANSWER", "Holding", "app", "main"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

ANSWER = b'{"id":"chatcmpl-floor","object":"chat.completion","choices":[]}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def _answer(send: Send, body: bytes = ANSWER) -> None:
    headers = _HEADERS if body is ANSWER else [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> None:
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, answer :data:`ANSWER` (200)."""
    if scope["type"] != "http":
        return
    await _read_body(receive)
    await _answer(send)


class Holding:
    """The ``--hold`` app: answers warm-up calls, holds the others, counts them at ``GET /metrics``."""

    def __init__(self) -> None:
        self.held = 0
        self._never: asyncio.Future[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await _answer(send, b"batchgpt_ingress_held_calls %d\n" % self.held)
            return
        await _read_body(receive)
        if any(name == b"prefer" and b"respond-async" in value for name, value in scope["headers"]):
            await _answer(send)
            return
        if self._never is None:
            self._never = asyncio.get_running_loop().create_future()
        self.held += 1
        try:
            await self._never
        finally:
            self.held -= 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_asgi", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hold", action="store_true", help="hold every POST not asking respond-async")
    args = parser.parse_args(argv)
    from ingress.__main__ import SERVER_OPTIONS

    served = Holding() if args.hold else app
    uvicorn.run(served, host="127.0.0.1", port=args.port, lifespan="off", **SERVER_OPTIONS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
