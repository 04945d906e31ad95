"""Replays a finished Anthropic ``Message`` as the Messages API's server-sent events (no I/O).

The sequence Anthropic streams (each ``event: {type}`` with its JSON ``data:``)::

    message_start            the message with no content yet, stop_reason null, output tokens 0
    per content block i:
      content_block_start    the block, empty (text "", tool input {}, thinking "")
      content_block_delta    text_delta / citations_delta, input_json_delta, thinking_delta + signature_delta
      content_block_stop
    message_delta            stop_reason, stop_sequence (stop_details, container), the final usage
    message_stop

The anthropic SDK's ``messages.stream(...)`` (and ``create(stream=True)``) rebuilds the message from these
events, so ``get_final_message()`` is the ``Message`` the batch result carried and ``get_final_text()`` its text.
A block of a type without deltas (redacted thinking, server tool results …) is started whole and stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ingress.http.sse import named_event

__all__ = ["message_events", "replay_message"]

_DELTA_USAGE_KEYS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "server_tool_use",
    "output_tokens_details",
)


def _event(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return str(data["type"]), data


def _started(message: dict[str, Any]) -> dict[str, Any]:
    """The message as ``message_start`` shows it: no content, not stopped, no output tokens yet."""
    usage = message.get("usage")
    started_usage = {**usage, "output_tokens": 0} if isinstance(usage, dict) else usage
    return {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": started_usage}


def _block_events(index: int, block: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``content_block_start``, its deltas and ``content_block_stop`` for one content block."""
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    start = block
    if kind == "text":
        citations = block.get("citations")
        start = {key: value for key, value in block.items() if key != "citations"} | {"text": ""}
        deltas += [{"type": "citations_delta", "citation": c} for c in citations or []]
        if block.get("text"):
            deltas.append({"type": "text_delta", "text": block["text"]})
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        if block.get("input"):
            partial = json.dumps(block["input"], separators=(",", ":"), ensure_ascii=False)
            deltas.append({"type": "input_json_delta", "partial_json": partial})
    elif kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        if block.get("thinking"):
            deltas.append({"type": "thinking_delta", "thinking": block["thinking"]})
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    yield _event({"type": "content_block_start", "index": index, "content_block": start})
    for delta in deltas:
        yield _event({"type": "content_block_delta", "index": index, "delta": delta})
    yield _event({"type": "content_block_stop", "index": index})


def _delta(message: dict[str, Any]) -> dict[str, Any]:
    """``message_delta``: how the message stopped and its final (cumulative) usage."""
    delta: dict[str, Any] = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    for key in ("stop_details", "container"):
        if message.get(key) is not None:
            delta[key] = message[key]
    raw_usage = message.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    delta_usage: dict[str, Any] = {"output_tokens": int(usage.get("output_tokens") or 0)}
    delta_usage |= {key: usage[key] for key in _DELTA_USAGE_KEYS if usage.get(key) is not None}
    return {"type": "message_delta", "delta": delta, "usage": delta_usage}


def message_events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The events (name, data) that stream ``message``, in order."""
    yield _event({"type": "message_start", "message": _started(message)})
    for index, block in enumerate(message.get("content") or []):
        if isinstance(block, dict):
            yield from _block_events(index, block)
    yield _event(_delta(message))
    yield _event({"type": "message_stop"})


def replay_message(message: dict[str, Any]) -> list[bytes]:
    """The finished ``message`` as server-sent events (the stream's bytes, event by event)."""
    return [named_event(name, data) for name, data in message_events(message)]
