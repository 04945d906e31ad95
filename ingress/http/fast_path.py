"""The endpoint table served as plain ASGI: ``POST {endpoint}`` and ``GET {endpoint}/{request_id}``.

Every call through FastAPI's stack (exception and exit-stack middlewares, route matching over all
routes, dependency solving) costs about as much CPU as batch-gpt's own work on the call; under a
burst of thousands of calls that is the difference between answering at the HTTP ceiling or below
it. This layer recognises the table's calls by method and path, runs the one handler of each, and
renders its answer (holding the call when the answer says so, after the handler returned). Errors go
on to the edge middleware, which renders every error the same way; everything else, including the
OpenAPI document that describes these routes, goes on to FastAPI.
"""

from __future__ import annotations

from typing import Any

from ingress.http.endpoints import BY_PATH, fetched_id
from ingress.http.fetching import FetchHandler
from ingress.http.posting import PostHandler
from ingress.http.rendering import AnswerRenderer
from ingress.http.request_reading import Scope

__all__ = ["FastPath"]


class FastPath:
    """Answers the endpoint table's calls directly; passes every other exchange to the wrapped app."""

    def __init__(self, app: Any, post: PostHandler, fetch: FetchHandler, answers: AnswerRenderer) -> None:
        self.app = app
        self._post = post
        self._fetch = fetch
        self._answers = answers

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "POST":
                spec = BY_PATH.get(scope["path"])
                if spec is not None:
                    answer = await self._post(spec, scope, receive)
                    response = await self._answers.render(answer)
                    await response(scope, receive, send)
                    return
            elif method == "GET":
                request_id = fetched_id(scope["path"])
                if request_id is not None:
                    response = await self._answers.render(await self._fetch(request_id, scope))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
