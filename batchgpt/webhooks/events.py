"""The event a webhook carries, in OpenAI's shape (``types/webhooks/batch_*_webhook_event.py``): pure.

``{"id": "evt_…", "object": "event", "type": "batch.completed", "created_at": <unix s>, "data": {"id": …}}``
"""

from __future__ import annotations

import json
import secrets
from typing import Any

__all__ = ["BATCH_EVENT_TYPES", "batch_event_type", "event_body", "new_event_id"]

BATCH_EVENT_TYPES = {
    "completed": "batch.completed",
    "failed": "batch.failed",
    "expired": "batch.expired",
    "cancelled": "batch.cancelled",
}
"""A terminal batch status and the event type that reports it."""


def batch_event_type(status: str) -> str | None:
    """``batch.<status>`` for a terminal batch status; None for any other status."""
    return BATCH_EVENT_TYPES.get(status)


def new_event_id() -> str:
    """``evt_`` + 32 hex: a fresh event id (also the ``webhook-id`` of its every delivery)."""
    return "evt_" + secrets.token_hex(16)


def event_body(*, event_id: str, event_type: str, created_at: float, data: dict[str, Any]) -> str:
    """The JSON text of one event (compact; the exact bytes that are signed and sent)."""
    event = {"id": event_id, "object": "event", "type": event_type, "created_at": int(created_at), "data": data}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
