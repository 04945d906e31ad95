"""The two busiest routes, ``POST /v1/chat/completions`` and ``POST /v1/embeddings``, served as plain ASGI.

Every call through FastAPI's stack (exception and exit-stack middlewares, route matching over all
routes, dependency solving) costs about as much CPU as batch-gpt's own work on the call; under a
burst of thousands of calls that is the difference between answering at the HTTP ceiling or below
it. This middleware recognises the two POSTs by method and exact path and answers them with the
same functions the FastAPI routes use (authentication, ``answer_post``, the error envelope; an
unexpected exception goes on to the edge middleware's 500 envelope, as from any route);
everything else, including the OpenAPI document that still describes these routes, goes on to
FastAPI. It sits inside :class:`~ingress.middleware.EdgeMiddleware`, so ``x-request-id`` and
deferred held answers work the same on both paths.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ingress.errors import IngressError
from ingress.http.answering import answer_post
from ingress.http.edge import Scope
from ingress.http.error_rendering import render_error
from ingress.process.service import IngressRuntime
from schemas.status import Endpoint

__all__ = ["HOT_ROUTES", "HotRoutes"]

HOT_ROUTES: dict[str, Endpoint] = {
    "/v1/chat/completions": Endpoint.CHAT_COMPLETIONS,
    "/v1/embeddings": Endpoint.EMBEDDINGS,
}


class HotRoutes:
    """Answers the hot POSTs directly; passes every other exchange to the wrapped app."""

    def __init__(self, app: Any, runtime: IngressRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        endpoint = HOT_ROUTES.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        request = Request(scope, receive)
        try:
            tenant = runtime.keys.authenticate(request.headers.get("authorization"))
            response = await answer_post(request, runtime, tenant, endpoint)
        except IngressError as exc:
            response = render_error(runtime, scope, exc)
        await response(scope, receive, send)  # anything unexpected: the edge answers it with a 500 envelope
