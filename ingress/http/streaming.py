"""Replays a finished ChatCompletion as ``chat.completion.chunk`` server-sent events (no I/O).

Per choice: a role chunk, the content (one chunk), the refusal if any, one chunk per tool call
(with its ``index``), then a chunk with ``finish_reason``. With ``stream_options.include_usage``
every chunk carries ``"usage": null`` and a last chunk with ``choices: []`` carries the usage.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ingress.replies.outcomes import Finished

__all__ = [
    "DONE",
    "KEEPALIVE",
    "completion_chunks",
    "error_event",
    "event",
    "include_usage",
    "pending_event",
    "replay",
]

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def event(data: dict[str, Any]) -> bytes:
    """One SSE ``data:`` event."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def error_event(envelope: dict[str, Any]) -> bytes:
    """An error reported mid-stream (the SDK raises ``APIError`` on a top-level ``error``)."""
    return event(envelope)


def include_usage(body: dict[str, Any]) -> bool:
    """Whether the request asked for the usage chunk."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _chunk(completion: dict[str, Any], choices: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": completion.get("id"),
        "object": "chat.completion.chunk",
        "created": completion.get("created"),
        "model": completion.get("model"),
    }
    for optional in ("system_fingerprint", "service_tier"):
        if optional in completion:
            chunk[optional] = completion[optional]
    chunk["choices"] = choices
    if with_usage:
        chunk["usage"] = None
    return chunk


def _choice_deltas(choice: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(delta, logprobs) pieces of one choice, ending with the empty delta that carries finish_reason."""
    message = choice.get("message") or {}
    pieces: list[tuple[dict[str, Any], Any]] = [({"role": message.get("role", "assistant"), "content": ""}, None)]
    content = message.get("content")
    if content:
        pieces.append(({"content": content}, choice.get("logprobs")))
    refusal = message.get("refusal")
    if refusal:
        pieces.append(({"refusal": refusal}, None))
    for index, call in enumerate(message.get("tool_calls") or []):
        delta_call = {
            "index": index,
            "id": call.get("id"),
            "type": call.get("type", "function"),
            "function": call.get("function") or {},
        }
        pieces.append(({"tool_calls": [delta_call]}, None))
    if message.get("function_call"):
        pieces.append(({"function_call": message["function_call"]}, None))
    return pieces


def completion_chunks(completion: dict[str, Any], with_usage: bool) -> list[dict[str, Any]]:
    """The chunks that replay ``completion``, in order (``[DONE]`` not included)."""
    chunks: list[dict[str, Any]] = []
    for position, choice in enumerate(completion.get("choices") or []):
        index = choice.get("index", position)
        for delta, logprobs in _choice_deltas(choice):
            piece = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": None}
            chunks.append(_chunk(completion, [piece], with_usage))
        final = {"index": index, "delta": {}, "logprobs": None, "finish_reason": choice.get("finish_reason", "stop")}
        chunks.append(_chunk(completion, [final], with_usage))
    if with_usage:
        last = _chunk(completion, [], False)
        last["usage"] = completion.get("usage")
        chunks.append(last)
    return chunks


async def replay(result: Finished, with_usage: bool) -> AsyncIterator[bytes]:
    """The events of a finished result: chunks then [DONE], or the error event."""
    if not result.ok:
        yield error_event(result.body)
        return
    for chunk in completion_chunks(result.body, with_usage):
        yield event(chunk)
    yield DONE


def pending_event(request_id: str, draining: bool) -> bytes:
    """The error event of a stream whose wait ended (or whose replica drains) before the result."""
    why = "this server is shutting down" if draining else "the wait limit passed"
    return error_event(
        {
            "error": {
                "message": f"The request {request_id} is still being processed ({why}). "
                f"Fetch its result later with GET /v1/chat/completions/{request_id}.",
                "type": "timeout",
                "param": None,
                "code": "result_pending",
                "request_id": request_id,
            }
        }
    )
