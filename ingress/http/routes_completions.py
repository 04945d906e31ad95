"""Routes of the OpenAI-compatible endpoints: chat completions and embeddings (create and fetch by id).

The two POSTs are answered by :class:`ingress.hot_routes.HotRoutes` before FastAPI's routing stack
(with the same ``answer_post``); they are declared here as well, so the OpenAPI document describes
them and an app without that middleware behaves the same.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ingress.http.answering import answer_get, answer_post
from ingress.http.deps import RuntimeDep, TenantDep
from ingress.http.openapi_bodies import CHAT_REQUEST, EMBEDDINGS_REQUEST, ERROR_RESPONSES, PENDING_RESPONSE
from schemas.status import Endpoint

__all__ = ["router"]

router = APIRouter(tags=["completions"])

_RESPONSES = {**PENDING_RESPONSE, **ERROR_RESPONSES}


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion (answered at Batch API prices)",
    openapi_extra=CHAT_REQUEST,
    responses={
        200: {"description": "The ChatCompletion, or `text/event-stream` chunks when `stream` is true."},
        **_RESPONSES,
    },
)
async def create_chat_completion(request: Request, runtime: RuntimeDep, tenant: TenantDep) -> Response:
    """Hold the call until the batch answers it (or ``Prefer: wait=N`` / ``respond-async``)."""
    return await answer_post(request, runtime, tenant, Endpoint.CHAT_COMPLETIONS)


@router.get("/v1/chat/completions/{request_id}", summary="Fetch a request's result by id", responses=_RESPONSES)
async def get_chat_completion(request_id: str, request: Request, runtime: RuntimeDep, tenant: TenantDep) -> Response:
    """200 with the completion, its error, 202 while pending (``Prefer: wait=N`` holds), 404 if unknown."""
    return await answer_get(request, runtime, tenant, request_id)


@router.post(
    "/v1/embeddings",
    summary="Create embeddings (answered at Batch API prices)",
    openapi_extra=EMBEDDINGS_REQUEST,
    responses={200: {"description": "The embeddings list."}, **_RESPONSES},
)
async def create_embeddings(request: Request, runtime: RuntimeDep, tenant: TenantDep) -> Response:
    """The same flow as chat completions, for the embeddings endpoint."""
    return await answer_post(request, runtime, tenant, Endpoint.EMBEDDINGS)


@router.get("/v1/embeddings/{request_id}", summary="Fetch an embeddings request's result by id", responses=_RESPONSES)
async def get_embeddings(request_id: str, request: Request, runtime: RuntimeDep, tenant: TenantDep) -> Response:
    """As ``GET /v1/chat/completions/{id}``."""
    return await answer_get(request, runtime, tenant, request_id)
