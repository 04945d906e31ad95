"""Anthropic's routes: ``POST /v1/messages`` (answered at once) and the Message Batches API under
``/v1/messages/batches`` (create, list with ``before_id``/``after_id``/``limit``, retrieve, delete, cancel,
results JSONL).

Every route checks ``x-api-key`` and ``anthropic-version`` and answers errors in Anthropic's envelope
(``simulator.deps.guard``, ``simulator.error_handlers``)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from batchgpt.simulator.anthropic_errors import anthropic_error
from batchgpt.simulator.deps import SimDep, guard
from batchgpt.simulator.ids import new_message_id
from batchgpt.simulator.message_answers import message_answer
from batchgpt.simulator.message_batches import (
    cancel_message_batch,
    create_message_batch,
    delete_message_batch,
    get_message_batch,
    list_message_batches,
    message_batch_results,
)
from batchgpt.simulator.message_events import message_sse

__all__ = ["router"]

router = APIRouter(prefix="/v1/messages", tags=["anthropic"])


def _base(request: Request) -> str:
    """Where this simulator is reached, for ``results_url``."""
    return str(request.base_url).rstrip("/")


async def _body(request: Request) -> tuple[object, int]:
    raw = await request.body()
    try:
        return json.loads(raw), len(raw)
    except ValueError as error:
        raise anthropic_error(400, "There was an issue with your request body: it is not valid JSON.") from error


@router.post("", dependencies=[guard("messages", "anthropic")])
async def create_message(request: Request, sim: SimDep) -> Response:
    """A ``Message`` (after the configured synchronous delay; its event stream when ``stream`` is true), or
    Anthropic's error for the body."""
    body, _ = await _body(request)
    if sim.settings.sync_delay_seconds > 0:
        await asyncio.sleep(sim.settings.sync_delay_seconds)
    result = message_answer(body, message_id=new_message_id(), model_known=sim.anthropic_model_known)
    if result.status_code == 200 and isinstance(body, dict) and body.get("stream") is True:
        return StreamingResponse(message_sse(result.body), media_type="text/event-stream")
    return JSONResponse(result.body, status_code=result.status_code, headers=result.headers)


@router.post("/batches", dependencies=[guard("messages.batches.create", "anthropic")])
async def create_batch_route(request: Request, sim: SimDep) -> dict[str, object]:
    """Create a Message Batch from inline ``requests``."""
    body, size = await _body(request)
    return create_message_batch(sim=sim, body=body, size=size)


@router.get("/batches", dependencies=[guard("messages.batches.list", "anthropic")])
async def list_batches_route(
    request: Request,
    sim: SimDep,
    before_id: str | None = None,
    after_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, object]:
    """Message Batches, newest first."""
    if before_id is not None and after_id is not None:
        raise anthropic_error(400, "Only one of before_id and after_id may be given.")
    return list_message_batches(
        sim=sim, before_id=before_id, after_id=after_id, limit=limit, results_base=_base(request)
    )


@router.get("/batches/{batch_id}", dependencies=[guard("messages.batches.retrieve", "anthropic")])
async def retrieve_batch_route(batch_id: str, request: Request, sim: SimDep) -> dict[str, object]:
    """One Message Batch, advanced to now."""
    return get_message_batch(sim=sim, batch_id=batch_id, results_base=_base(request))


@router.delete("/batches/{batch_id}", dependencies=[guard("messages.batches.delete", "anthropic")])
async def delete_batch_route(batch_id: str, sim: SimDep) -> dict[str, object]:
    """Delete an ended Message Batch."""
    return delete_message_batch(sim=sim, batch_id=batch_id)


@router.post("/batches/{batch_id}/cancel", dependencies=[guard("messages.batches.cancel", "anthropic")])
async def cancel_batch_route(batch_id: str, request: Request, sim: SimDep) -> dict[str, object]:
    """Start canceling a Message Batch."""
    return cancel_message_batch(sim=sim, batch_id=batch_id, results_base=_base(request))


@router.get("/batches/{batch_id}/results", dependencies=[guard("messages.batches.results", "anthropic")])
async def batch_results_route(batch_id: str, sim: SimDep) -> Response:
    """The results JSONL of an ended Message Batch."""
    delay = sim.settings.download_delay_seconds + sim.faults.take_download_delay()
    if delay > 0:
        await asyncio.sleep(delay)
    return Response(message_batch_results(sim=sim, batch_id=batch_id), media_type="application/binary")
