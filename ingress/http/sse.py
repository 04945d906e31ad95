"""Server-sent event framing (no I/O): ``data:`` events, named events, and ``[DONE]``."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DONE", "data_event", "named_event"]

DONE = b"data: [DONE]\n\n"


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def data_event(data: dict[str, Any]) -> bytes:
    """One ``data:`` event (chat and completions chunks)."""
    return b"data: " + _json(data) + b"\n\n"


def named_event(name: str, data: dict[str, Any]) -> bytes:
    """One ``event: {name}`` event with its ``data:`` (the Responses API's events)."""
    return b"event: " + name.encode() + b"\ndata: " + _json(data) + b"\n\n"
