"""Anthropic's streaming Messages events for a finished ``Message`` (pure): ``message_start`` (the message with no
content yet), per content block ``content_block_start``, ``text_delta`` pieces and ``content_block_stop``, then
``message_delta`` (stop reason, output tokens) and ``message_stop``; a ``ping`` after the start, as Anthropic
sends. The ``anthropic`` SDK's ``messages.stream()`` rebuilds the same message from them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["message_events", "message_sse"]

_PIECE_CHARS = 24


def _block_events(index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
    if block.get("type") != "text":
        return [
            {"type": "content_block_start", "index": index, "content_block": block},
            {"type": "content_block_stop", "index": index},
        ]
    text = str(block.get("text", ""))
    events: list[dict[str, Any]] = [
        {"type": "content_block_start", "index": index, "content_block": {**block, "text": ""}}
    ]
    for start in range(0, len(text), _PIECE_CHARS):
        piece = text[start : start + _PIECE_CHARS]
        events.append({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}})
    events.append({"type": "content_block_stop", "index": index})
    return events


def message_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events a streaming request would have received for ``message``, in order."""
    usage = dict(message.get("usage") or {})
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(message.get("content") or []):
        events.extend(_block_events(index, block))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")},
            "usage": {"output_tokens": usage.get("output_tokens", 0)},
        }
    )
    events.append({"type": "message_stop"})
    return events


def message_sse(message: dict[str, Any]) -> Iterator[bytes]:
    """``event: <type>`` / ``data: <json>`` server-sent events of :func:`message_events`."""
    for event in message_events(message):
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
