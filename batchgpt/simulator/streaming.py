"""Server-sent-event replay of a finished answer (pure): ``chat.completion.chunk`` events for a
ChatCompletion (text, tool calls and logprobs), ``text_completion`` chunks for a legacy completion, each
stream ending with ``data: [DONE]``. (Responses events: ``simulator.response_events``.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

__all__ = ["completion_chunks", "sse_events", "text_completion_chunks"]

_PIECE_CHARS = 24
_TOKENS_PER_PIECE = 6  # logprobs tokens are four characters (simulator.logprobs)


def _pieces(text: str) -> list[str]:
    return [text[start : start + _PIECE_CHARS] for start in range(0, len(text), _PIECE_CHARS)]


def _chat_deltas(choice: dict[str, object]) -> list[tuple[dict[str, object], object]]:
    """(delta, logprobs) of each chunk of one choice before its final chunk."""
    message = choice["message"]
    assert isinstance(message, dict)
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        first: dict[str, object] = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {**call, "index": index, "function": {**call["function"], "arguments": ""}}
                for index, call in enumerate(calls)
            ],
        }
        deltas: list[tuple[dict[str, object], object]] = [(first, None)]
        for index, call in enumerate(calls):
            for piece in _pieces(call["function"]["arguments"]):
                deltas.append(({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None))
        return deltas
    content = str(message.get("content") or "")
    logprobs = choice.get("logprobs")
    tokens = logprobs.get("content") if isinstance(logprobs, dict) else None
    deltas = [({"role": "assistant", "content": "", "refusal": None}, None)]
    for number, piece in enumerate(_pieces(content)):
        piece_logprobs = None
        if isinstance(tokens, list):
            start = number * _TOKENS_PER_PIECE
            piece_logprobs = {"content": tokens[start : start + _TOKENS_PER_PIECE], "refusal": None}
        deltas.append(({"content": piece}, piece_logprobs))
    return deltas


def completion_chunks(completion: dict[str, object], *, include_usage: bool) -> list[dict[str, object]]:
    """The chunks a streaming chat request would have received for ``completion``."""
    common = {key: completion[key] for key in ("id", "created", "model", "service_tier", "system_fingerprint")}

    def chunk(choices: list[dict[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {**common, "object": "chat.completion.chunk", "choices": choices}
        if include_usage:
            out["usage"] = None
        return out

    chunks = []
    choices = completion["choices"]
    assert isinstance(choices, list)
    for choice in choices:
        index = choice["index"]
        for delta, logprobs in _chat_deltas(choice):
            chunks.append(chunk([{"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": None}]))
        last = {"index": index, "delta": {}, "logprobs": None, "finish_reason": choice["finish_reason"]}
        chunks.append(chunk([last]))
    if include_usage:
        chunks.append({**common, "object": "chat.completion.chunk", "choices": [], "usage": completion["usage"]})
    return chunks


def _legacy_slice(logprobs: object, number: int) -> object:
    if not isinstance(logprobs, dict):
        return None
    start = number * _TOKENS_PER_PIECE
    return {key: values[start : start + _TOKENS_PER_PIECE] for key, values in logprobs.items()}


def text_completion_chunks(completion: dict[str, object], *, include_usage: bool) -> list[dict[str, object]]:
    """The chunks a streaming legacy-completions request would have received for ``completion``."""
    common = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}
    chunks: list[dict[str, object]] = []
    choices = completion["choices"]
    assert isinstance(choices, list)
    for choice in choices:
        for number, piece in enumerate(_pieces(choice["text"])):
            part = {"text": piece, "index": choice["index"], "logprobs": _legacy_slice(choice["logprobs"], number)}
            chunks.append({**common, "object": "text_completion", "choices": [{**part, "finish_reason": None}]})
        last = {"text": "", "index": choice["index"], "logprobs": None, "finish_reason": choice["finish_reason"]}
        chunks.append({**common, "object": "text_completion", "choices": [last]})
    if include_usage:
        chunks.append({**common, "object": "text_completion", "choices": [], "usage": completion["usage"]})
    return chunks


def sse_events(chunks: list[dict[str, object]]) -> Iterator[bytes]:
    """``data: <json>`` events ending with ``data: [DONE]``."""
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
