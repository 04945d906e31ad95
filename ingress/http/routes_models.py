"""``GET /v1/models`` and ``GET /v1/models/{model}``: the upstream's models, in OpenAI's shapes; for an Anthropic
SDK client (a call with ``anthropic-version``), Anthropic's models in its ``ModelInfo`` shapes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ingress.http.auth import KeyRing
from ingress.http.deps import tenant_dependency
from ingress.http.model_catalog import ModelCatalog, model_info, model_info_page, model_object
from ingress.http.openapi_bodies import ERROR_RESPONSES
from ingress.http.responses import json_response

__all__ = ["models_router"]


def models_router(catalog: ModelCatalog, keys: KeyRing, anthropic: ModelCatalog | None = None) -> APIRouter:
    """The model routes, for the callers ``keys`` authenticates (401 otherwise, like every route); ``anthropic``
    answers the calls of Anthropic SDK clients."""
    router = APIRouter(tags=["models"], dependencies=[tenant_dependency(keys)])

    def _anthropic(request: Request) -> ModelCatalog | None:
        return anthropic if "anthropic-version" in request.headers else None

    @router.get("/v1/models", summary="List the models the upstream serves", responses=ERROR_RESPONSES)
    async def list_models(request: Request) -> Response:
        """``{"object": "list", "data": [Model, ...]}``, cached for ``BATCHGPT_MODELS_TTL_S``."""
        if (other := _anthropic(request)) is not None:
            return json_response(model_info_page(await other.models()))
        return json_response({"object": "list", "data": [model_object(m) for m in await catalog.models()]})

    @router.get("/v1/models/{model:path}", summary="Retrieve one model the upstream serves", responses=ERROR_RESPONSES)
    async def retrieve_model(model: str, request: Request) -> Response:
        """The ``Model``; 404 ``model_not_found`` when the upstream does not list it."""
        if (other := _anthropic(request)) is not None:
            return json_response(model_info(await other.model(model)))
        return json_response(model_object(await catalog.model(model)))

    return router
