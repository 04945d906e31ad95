"""Server-sent-event replay of a finished ChatCompletion as ``chat.completion.chunk`` events (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterator

__all__ = ["completion_chunks", "sse_events"]

_PIECE_CHARS = 24


def completion_chunks(completion: dict[str, object], *, include_usage: bool) -> list[dict[str, object]]:
    """The chunks a streaming request would have received for ``completion``."""
    common = {
        key: completion[key] for key in ("id", "created", "model", "service_tier", "system_fingerprint")
    }

    def chunk(choices: list[dict[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {**common, "object": "chat.completion.chunk", "choices": choices}
        if include_usage:
            out["usage"] = None
        return out

    chunks = []
    choices = completion["choices"]
    assert isinstance(choices, list)
    for choice in choices:
        index, content = choice["index"], choice["message"]["content"] or ""
        delta = {"role": "assistant", "content": "", "refusal": None}
        chunks.append(chunk([{"index": index, "delta": delta, "logprobs": None, "finish_reason": None}]))
        for start in range(0, len(content), _PIECE_CHARS):
            piece = {"content": content[start : start + _PIECE_CHARS]}
            chunks.append(chunk([{"index": index, "delta": piece, "logprobs": None, "finish_reason": None}]))
        last = {"index": index, "delta": {}, "logprobs": None, "finish_reason": choice["finish_reason"]}
        chunks.append(chunk([last]))
    if include_usage:
        chunks.append(
            {**common, "object": "chat.completion.chunk", "choices": [], "usage": completion["usage"]}
        )
    return chunks


def sse_events(chunks: list[dict[str, object]]) -> Iterator[bytes]:
    """``data: <json>`` events ending with ``data: [DONE]``."""
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
