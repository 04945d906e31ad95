"""``/v1/models`` routes: list the models the simulator serves, retrieve one (404 ``model_not_found``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from batchgpt.simulator.anthropic_errors import anthropic_error
from batchgpt.simulator.deps import SimDep, guard
from batchgpt.simulator.model_catalog import (
    anthropic_model_info,
    anthropic_model_list,
    model_list,
    model_object,
    unknown_model,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", dependencies=[guard("models.list", "either")])
async def list_models(request: Request, sim: SimDep) -> dict[str, object]:
    """The known models (``known_models``); to an Anthropic client (``anthropic-version``), ``anthropic_models``."""
    if "anthropic-version" in request.headers:
        return anthropic_model_list(sim.settings.anthropic_models)
    return model_list(sim.settings.known_models)


@router.get("/{model_id:path}", dependencies=[guard("models.retrieve", "either")])
async def retrieve_model(model_id: str, request: Request, sim: SimDep) -> dict[str, object]:
    """One model (Anthropic's ``ModelInfo`` to an Anthropic client), or 404 when the simulator does not serve it."""
    if "anthropic-version" in request.headers:
        if not sim.anthropic_model_known(model_id):
            raise anthropic_error(404, f"model: {model_id}")
        return anthropic_model_info(model_id)
    if not sim.model_known(model_id):
        raise unknown_model(model_id)
    return model_object(model_id)
