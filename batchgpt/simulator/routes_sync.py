"""Synchronous ``/v1/chat/completions`` and ``/v1/embeddings``, answered at once (benchmark baseline)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response, StreamingResponse

from batchgpt.simulator.answers import CHAT_ENDPOINT, EMBEDDINGS_ENDPOINT, answer
from batchgpt.simulator.deps import JsonBody, SimDep, guard
from batchgpt.simulator.ids import new_chat_completion_id
from batchgpt.simulator.simulation import Simulation
from batchgpt.simulator.streaming import completion_chunks, sse_events

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["sync"])


async def _answer(
    sim: Simulation, endpoint: str, body: object
) -> tuple[int, dict[str, object], dict[str, str]]:
    if sim.settings.sync_delay_seconds > 0:
        await asyncio.sleep(sim.settings.sync_delay_seconds)
    result = answer(
        endpoint,
        body,
        completion_id=new_chat_completion_id(),
        created=int(sim.clock.now()),
        model_known=sim.model_known,
    )
    return result.status_code, result.body, result.headers


@router.post("/chat/completions", dependencies=[guard("chat.completions")])
async def chat_completions(body: JsonBody, sim: SimDep) -> Response:
    """A ChatCompletion (or its SSE replay when ``stream`` is true)."""
    status, payload, headers = await _answer(sim, CHAT_ENDPOINT, body)
    if status == 200 and isinstance(body, dict) and body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        chunks = completion_chunks(payload, include_usage=include_usage)
        return StreamingResponse(sse_events(chunks), media_type="text/event-stream")
    return JSONResponse(payload, status_code=status, headers=headers)


@router.post("/embeddings", dependencies=[guard("embeddings")])
async def embeddings(body: JsonBody, sim: SimDep) -> Response:
    """An embeddings list (``float`` or ``base64``)."""
    status, payload, headers = await _answer(sim, EMBEDDINGS_ENDPOINT, body)
    return JSONResponse(payload, status_code=status, headers=headers)
