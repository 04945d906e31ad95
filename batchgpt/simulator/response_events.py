"""Server-sent-event replay of a finished ``Response`` as the Responses API streams it (pure):
``response.created``, ``response.in_progress``, per output item ``response.output_item.added``, the
text's ``content_part.added`` / ``output_text.delta``… / ``output_text.done`` / ``content_part.done`` (or
a function call's ``function_call_arguments.delta``… / ``.done``), ``response.output_item.done``, then
``response.completed`` (``response.incomplete`` when cut short). Each event is ``event: <type>`` plus
``data: <json>`` with a ``sequence_number``; the SDK's ``responses.stream()`` consumes it."""

from __future__ import annotations

import json
from collections.abc import Iterator

__all__ = ["response_events", "response_sse"]

_PIECE_CHARS = 24
_TOKENS_PER_PIECE = 6


def _pieces(text: str) -> list[str]:
    return [text[start : start + _PIECE_CHARS] for start in range(0, len(text), _PIECE_CHARS)] or [""]


def _item_events(item: dict[str, object], output_index: int) -> list[dict[str, object]]:
    item_id = item["id"]
    where = {"item_id": item_id, "output_index": output_index}
    events: list[dict[str, object]] = []
    if item.get("type") == "function_call":
        arguments = str(item["arguments"])
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": output_index,
                "item": {**item, "arguments": "", "status": "in_progress"},
            }
        )
        events += [
            {"type": "response.function_call_arguments.delta", **where, "delta": piece} for piece in _pieces(arguments)
        ]
        events.append({"type": "response.function_call_arguments.done", **where, "arguments": arguments})
    else:
        events.append(
            {
                "type": "response.output_item.added",
                "output_index": output_index,
                "item": {**item, "status": "in_progress", "content": []},
            }
        )
        content = item["content"]
        assert isinstance(content, list)
        for content_index, part in enumerate(content):
            at = {**where, "content_index": content_index}
            logprobs = part.get("logprobs") or []
            events.append({"type": "response.content_part.added", **at, "part": {**part, "text": "", "logprobs": []}})
            for number, piece in enumerate(_pieces(part["text"])):
                start = number * _TOKENS_PER_PIECE
                events.append(
                    {
                        "type": "response.output_text.delta",
                        **at,
                        "delta": piece,
                        "logprobs": logprobs[start : start + _TOKENS_PER_PIECE],
                    }
                )
            events.append({"type": "response.output_text.done", **at, "text": part["text"], "logprobs": logprobs})
            events.append({"type": "response.content_part.done", **at, "part": part})
    events.append({"type": "response.output_item.done", "output_index": output_index, "item": item})
    return events


def response_events(response: dict[str, object]) -> list[dict[str, object]]:
    """The events a streaming Responses request would have received for ``response``."""
    pending = {
        **response,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "completed_at": None,
        "incomplete_details": None,
    }
    events: list[dict[str, object]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    output = response["output"]
    assert isinstance(output, list)
    for output_index, item in enumerate(output):
        events += _item_events(item, output_index)
    final = "response.incomplete" if response.get("status") == "incomplete" else "response.completed"
    events.append({"type": final, "response": response})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def response_sse(response: dict[str, object]) -> Iterator[bytes]:
    """``event: <type>`` / ``data: <json>`` pairs of ``response_events``."""
    for event in response_events(response):
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
