"""The ingress's ASGI layers, outermost first: Anthropic's dialect, the edge, the fast path, then FastAPI's routing.

FastAPI puts two layers of its own outside every user middleware (Starlette's ``ServerErrorMiddleware`` and
FastAPI's exception telemetry). Every call crosses each layer twice (the call and each ``send``), and a held call
keeps a suspended frame per layer for as long as it is held. The edge already logs and answers every exception
that reaches it, which is all ``ServerErrorMiddleware`` would do, so :class:`IngressAPI` leaves both out: the
endpoint table's calls go edge -> fast path -> handler, and only the other routes go on into FastAPI's exception
handling and router.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp

__all__ = ["IngressAPI"]

Wrap = Callable[[ASGIApp], ASGIApp]
"""Builds the outer layers around the routed app."""


class IngressAPI(FastAPI):
    """A FastAPI app whose outermost layers are ``outer(routed)``, without FastAPI's own outer layers."""

    def __init__(self, *, outer: Wrap, **kwargs: Any) -> None:
        self._outer = outer
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        """``outer`` around FastAPI's exception handlers and router (the handlers of 500/``Exception`` left out:
        the edge answers those)."""
        handlers = {key: value for key, value in self.exception_handlers.items() if key not in (500, Exception)}
        routed = ExceptionMiddleware(AsyncExitStackMiddleware(self.router), handlers=handlers, debug=self.debug)
        return self._outer(routed)
