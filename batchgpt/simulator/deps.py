"""FastAPI dependencies: the ``Simulation``, the per-route guard (count, auth, faults), JSON bodies."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import Depends, Request

from batchgpt.simulator import azure
from batchgpt.simulator.anthropic_errors import anthropic_error, in_anthropics_words
from batchgpt.simulator.batch_views import advance_all
from batchgpt.simulator.errors import invalid_request, status_error, unauthorized
from batchgpt.simulator.file_service import purge_expired_files
from batchgpt.simulator.simulation import Simulation

__all__ = ["JsonBody", "SimDep", "guard", "read_json"]


def get_simulation(request: Request) -> Simulation:
    """The app's one ``Simulation`` (set by ``create_app``)."""
    simulation: Simulation = request.app.state.simulation
    return simulation


SimDep = Annotated[Simulation, Depends(get_simulation)]


def _retry_count(request: Request) -> int:
    try:
        return int(request.headers.get("x-stainless-retry-count", "0"))
    except ValueError:
        return 0


def _is_anthropic(request: Request, api: str) -> bool:
    """Whether the call speaks Anthropic's API (``either``: when it sends ``anthropic-version``)."""
    return api == "anthropic" or (api == "either" and "anthropic-version" in request.headers)


def _check_openai_key(sim: Simulation, request: Request) -> None:
    if azure.is_azure(sim.settings):
        key = azure.presented_key(request.headers)
        if not key or (sim.settings.api_keys and key not in sim.settings.api_keys):
            sim.calls.unauthorized += 1
            raise azure.unauthorized()
        return
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        sim.calls.unauthorized += 1
        raise unauthorized(None)
    if sim.settings.api_keys and key not in sim.settings.api_keys:
        sim.calls.unauthorized += 1
        raise unauthorized(key)


def _check_anthropic_key(sim: Simulation, request: Request) -> None:
    """``x-api-key`` (or a Bearer token), then ``anthropic-version``, as Anthropic checks them."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    key = request.headers.get("x-api-key", "").strip() or (bearer.strip() if scheme.lower() == "bearer" else "")
    if not key or (sim.settings.api_keys and key not in sim.settings.api_keys):
        sim.calls.unauthorized += 1
        raise anthropic_error(401, "x-api-key header is required" if not key else "invalid x-api-key")
    if not request.headers.get("anthropic-version"):
        raise anthropic_error(400, "anthropic-version: header is required")


def guard(route: str, api: str = "openai") -> Any:
    """Dependency for ``/v1`` routes: count the call, check the key (OpenAI: Bearer; Azure: ``api-key``;
    Anthropic: ``x-api-key`` and ``anthropic-version``), wait out any armed slow-call fault, fire any armed HTTP
    fault.

    ``api`` is ``openai``, ``anthropic``, or ``either`` (a route both SDKs call, such as ``/v1/models``: Anthropic
    when the call sends ``anthropic-version``).

    It then brings every unfinished batch up to the clock: the lifecycle is evaluated lazily, on every
    call, so result files exist whichever route is read first; and files past ``expires_at`` are deleted.
    """

    async def _guard(request: Request, sim: SimDep) -> None:
        sim.calls.record(route, _retry_count(request))
        anthropic = _is_anthropic(request, api)
        if sim.settings.require_auth:
            (_check_anthropic_key if anthropic else _check_openai_key)(sim, request)
        delay = sim.faults.take_call_delay(route)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = sim.faults.take_http(route)
        if fault is not None:
            error = status_error(
                fault.status,
                message=fault.message,
                code=fault.code,
                retry_after_seconds=fault.retry_after_seconds,
            )
            if anthropic:
                raise in_anthropics_words(error)
            raise azure.in_azures_words(error) if azure.is_azure(sim.settings) else error
        advance_all(sim)
        purge_expired_files(sim)

    return Depends(_guard)


async def read_json(request: Request) -> object:
    """The request body parsed as JSON, or a 400 in OpenAI's words."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as error:
        raise invalid_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON.)"
        ) from error


JsonBody = Annotated[object, Depends(read_json)]
