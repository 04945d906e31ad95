"""The ingress's ASGI layers, outermost first: Anthropic's dialect, the edge, the fast path, then FastAPI's routing.

FastAPI puts two layers of its own outside every user middleware (Starlette's ``ServerErrorMiddleware`` and
FastAPI's exception telemetry), and its ``__call__`` and Starlette's are coroutines too. Every call crosses each
layer twice (the call and each ``send``), and a held call keeps a suspended frame per layer for as long as it is
held. The edge already logs and answers every exception
that reaches it, which is all ``ServerErrorMiddleware`` would do, so :class:`IngressAPI` leaves both out: the
endpoint table's calls go edge -> fast path -> handler, and only the other routes go on into FastAPI's exception
handling and router. A layer with nothing to do for a call (the dialect off ``/v1/messages``) hands back the
inner layer's awaitable instead of awaiting it, so it keeps no frame either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["IngressAPI"]

Wrap = Callable[[ASGIApp], ASGIApp]
"""Builds the outer layers around the routed app."""


class IngressAPI(FastAPI):
    """A FastAPI app whose outermost layers are ``outer(routed)``, without FastAPI's own outer layers."""

    def __init__(self, *, outer: Wrap, **kwargs: Any) -> None:
        self._outer = outer
        super().__init__(**kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTTP exchange goes straight to the layers (what FastAPI's and Starlette's ``__call__`` do for it:
        the root path, ``scope["app"]``), one frame instead of their two; lifespan and the rest go through FastAPI.

        A coroutine function still, so that servers recognise an ASGI 3 app by looking (uvicorn does)."""
        stack = self.middleware_stack
        if scope["type"] != "http" or stack is None:
            await super().__call__(scope, receive, send)
            return
        if self.root_path:
            scope["root_path"] = self.root_path
        scope["app"] = self
        await stack(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        """``outer`` around FastAPI's exception handlers and router (the handlers of 500/``Exception`` left out:
        the edge answers those)."""
        handlers = {key: value for key, value in self.exception_handlers.items() if key not in (500, Exception)}
        routed = ExceptionMiddleware(AsyncExitStackMiddleware(self.router), handlers=handlers, debug=self.debug)
        return self._outer(routed)
