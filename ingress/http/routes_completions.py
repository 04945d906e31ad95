"""The endpoint table as FastAPI routes, for the OpenAPI document: each calls the same handler as the fast path.

:class:`ingress.http.fast_path.FastPath` answers these calls before FastAPI's routing stack; the
routes describe them in ``/openapi.json`` and behave the same in an app without that layer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ingress.http.deps import BEARER
from ingress.http.endpoints import ENDPOINTS, EndpointSpec
from ingress.http.fetching import FetchHandler
from ingress.http.openapi_bodies import ok_response, pending_response
from ingress.http.posting import PostHandler
from ingress.http.rendering import AnswerRenderer

__all__ = ["completions_router"]


def completions_router(post: PostHandler, fetch: FetchHandler, answers: AnswerRenderer) -> APIRouter:
    """``POST {endpoint}`` and ``GET {endpoint}/{request_id}`` of every endpoint in the table."""
    router = APIRouter(tags=["completions"], dependencies=[Depends(BEARER)])
    for spec in ENDPOINTS:
        fetch_id = f"get_{spec.name}"
        ok = ok_response(spec.ok_description, streams=spec.streams)  # a fetch answers JSON only
        router.add_api_route(
            spec.path,
            _creator(spec, post, answers),
            methods=["POST"],
            name=f"create_{spec.name}",
            operation_id=f"create_{spec.name}",
            summary=spec.summary,
            description="Hold the call until the batch answers it (or `Prefer: wait=N` / `respond-async`).",
            openapi_extra=spec.request_body,
            responses={**ok, **pending_response(fetch_id), **spec.error_responses},
        )
        router.add_api_route(
            spec.path + "/{request_id}",
            _fetcher(fetch, answers),
            methods=["GET"],
            name=fetch_id,
            operation_id=fetch_id,
            summary=spec.fetch_summary,
            description="200 with the result, its error, 202 while pending (`Prefer: wait=N` holds), 404 if unknown.",
            responses={**ok_response("The result.", streams=False), **pending_response(), **spec.error_responses},
        )
    return router


def _creator(
    spec: EndpointSpec, post: PostHandler, answers: AnswerRenderer
) -> Callable[[Request], Awaitable[Response]]:
    async def create(request: Request) -> Response:
        return await answers.render(await post(spec, request.scope, request.receive))

    return create


def _fetcher(fetch: FetchHandler, answers: AnswerRenderer) -> Callable[[str, Request], Awaitable[Response]]:
    async def get(request_id: str, request: Request) -> Response:
        return await answers.render(await fetch(request_id, request.scope))

    return get
