"""The events webhooks carry, in OpenAI's shape (``types/webhooks/batch_*_webhook_event.py``): pure.

``{"id": "evt_…", "object": "event", "type": "batch.completed", "created_at": <unix s>, "data": {"id": …}}``

batch-gpt's own events (on the webhooks topic as :class:`schemas.WebhookEvent`, POSTed to ``BATCHGPT_WEBHOOK_URL``):

* ``request.completed`` / ``request.failed``: ``data: {id, status, status_code, endpoint}`` for a request whose
  caller asked for an asynchronous answer;
* ``batch.completed`` / ``batch.failed`` / ``batch.expired`` / ``batch.cancelled``: ``data: {id, status, endpoint,
  model, request_counts}`` once every member of the batch was answered (or resubmitted).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from schemas import BatchEvent, ReplyStatus, WebhookEvent

__all__ = ["batch_event_type", "batch_webhook", "event_body", "new_event_id", "request_webhook"]

_BATCH_EVENT_TYPES = {
    "completed": "batch.completed",
    "failed": "batch.failed",
    "expired": "batch.expired",
    "cancelled": "batch.cancelled",
}


def batch_event_type(status: str) -> str | None:
    """``batch.<status>`` for a terminal batch status; None for any other status."""
    return _BATCH_EVENT_TYPES.get(status)


def new_event_id() -> str:
    """``evt_`` + 32 hex: a fresh event id (also the ``webhook-id`` of its every delivery)."""
    return "evt_" + secrets.token_hex(16)


def event_body(*, event_id: str, event_type: str, created_at: float, data: dict[str, Any]) -> str:
    """The JSON text of one event (compact; the exact bytes that are signed and sent)."""
    event = {"id": event_id, "object": "event", "type": event_type, "created_at": int(created_at), "data": data}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def request_webhook(*, request_id: str, status: ReplyStatus, status_code: int, endpoint: str) -> WebhookEvent:
    """``request.completed`` / ``request.failed`` for one answered request."""
    return WebhookEvent(
        event_id=new_event_id(),
        type="request.completed" if status is ReplyStatus.COMPLETED else "request.failed",
        data={"id": request_id, "status": status.value, "status_code": status_code, "endpoint": endpoint},
    )


def batch_webhook(event: BatchEvent) -> WebhookEvent | None:
    """``batch.<status>`` for a batch whose members were all answered; None when its status is not terminal."""
    event_type = batch_event_type(event.status.value)
    if event_type is None:
        return None
    return WebhookEvent.model_validate(
        {
            "event_id": new_event_id(),
            "type": event_type,
            "data": {
                "id": event.batch_id,
                "status": event.status.value,
                "endpoint": event.endpoint.value if event.endpoint is not None else None,
                "model": event.model,
                "request_counts": event.request_counts.model_dump(),
            },
        }
    )
