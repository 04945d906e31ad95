"""The synchronous endpoints, answered at once (a benchmark baseline and a stand-in for OpenAI's own):
``/v1/chat/completions``, ``/v1/responses``, ``/v1/completions`` (all three also as server-sent events
with ``stream: true``), ``/v1/embeddings`` and ``/v1/moderations``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response, StreamingResponse

from batchgpt.simulator.answers import answer
from batchgpt.simulator.deps import JsonBody, SimDep, guard
from batchgpt.simulator.endpoints import (
    CHAT_ENDPOINT,
    COMPLETIONS_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    MODERATIONS_ENDPOINT,
    RESPONSES_ENDPOINT,
)
from batchgpt.simulator.ids import new_chat_completion_id
from batchgpt.simulator.response_events import response_sse
from batchgpt.simulator.simulation import Simulation
from batchgpt.simulator.streaming import completion_chunks, sse_events, text_completion_chunks

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["sync"])

_Replay = Callable[[dict[str, object], bool], Iterator[bytes]]


def _chat_replay(payload: dict[str, object], include_usage: bool) -> Iterator[bytes]:
    return sse_events(completion_chunks(payload, include_usage=include_usage))


def _completion_replay(payload: dict[str, object], include_usage: bool) -> Iterator[bytes]:
    return sse_events(text_completion_chunks(payload, include_usage=include_usage))


def _response_replay(payload: dict[str, object], include_usage: bool) -> Iterator[bytes]:
    return response_sse(payload)


async def _respond(sim: Simulation, endpoint: str, body: object, replay: _Replay | None = None) -> Response:
    """Answer ``body`` (after the configured delay); replay a success as SSE when it asks to stream."""
    if sim.settings.sync_delay_seconds > 0:
        await asyncio.sleep(sim.settings.sync_delay_seconds)
    result = answer(
        endpoint,
        body,
        completion_id=new_chat_completion_id(),
        created=int(sim.clock.now()),
        model_known=sim.model_known,
    )
    if replay is not None and result.status_code == 200 and isinstance(body, dict) and body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamingResponse(replay(result.body, include_usage), media_type="text/event-stream")
    return JSONResponse(result.body, status_code=result.status_code, headers=result.headers)


@router.post("/chat/completions", dependencies=[guard("chat.completions")])
async def chat_completions(body: JsonBody, sim: SimDep) -> Response:
    """A ChatCompletion (or its ``chat.completion.chunk`` replay when ``stream`` is true)."""
    return await _respond(sim, CHAT_ENDPOINT, body, _chat_replay)


@router.post("/responses", dependencies=[guard("responses")])
async def responses(body: JsonBody, sim: SimDep) -> Response:
    """A Response (or its Responses-API event replay when ``stream`` is true)."""
    return await _respond(sim, RESPONSES_ENDPOINT, body, _response_replay)


@router.post("/completions", dependencies=[guard("completions")])
async def completions(body: JsonBody, sim: SimDep) -> Response:
    """A legacy ``text_completion`` (or its chunk replay when ``stream`` is true)."""
    return await _respond(sim, COMPLETIONS_ENDPOINT, body, _completion_replay)


@router.post("/embeddings", dependencies=[guard("embeddings")])
async def embeddings(body: JsonBody, sim: SimDep) -> Response:
    """An embeddings list (``float`` or ``base64``)."""
    return await _respond(sim, EMBEDDINGS_ENDPOINT, body)


@router.post("/moderations", dependencies=[guard("moderations")])
async def moderations(body: JsonBody, sim: SimDep) -> Response:
    """A ModerationCreateResponse."""
    return await _respond(sim, MODERATIONS_ENDPOINT, body)
