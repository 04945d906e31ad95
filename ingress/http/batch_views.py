"""Renders ``batches`` rows in OpenAI's Batch object shape (every key present, null when unknown). Pure.

Mapping from our row: ``pending`` (not yet created upstream) shows as ``validating``; a batch whose
cancel was requested and which is not terminal shows as ``cancelling``; ``terminal_at`` fills the
``*_at`` key of the terminal status; ``finalizing_at`` is when the batch was seen ``finalizing`` (a
completed batch always was, though a poll may not have seen it: then its completion time);
``expires_at`` is 24 h after creation (the only completion window). ``metadata`` carries the provider
that runs the batch (``openai`` or ``anthropic``: an Anthropic Message Batch is shown in the same shape), the
upstream batch id and, when the tokens are known, the estimated synchronous cost and saving (``batchgpt.pricing``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from batchgpt.pricing import estimate_saving
from schemas.status import BatchStatus

__all__ = ["COMPLETION_WINDOW_SECONDS", "render_batch", "render_page", "shown_status"]

COMPLETION_WINDOW_SECONDS = 86400

_TERMINAL_AT_KEY = {
    BatchStatus.COMPLETED: "completed_at",
    BatchStatus.FAILED: "failed_at",
    BatchStatus.EXPIRED: "expired_at",
    BatchStatus.CANCELLED: "cancelled_at",
}


def _seconds(value: Any) -> int | None:
    return int(value) if value is not None else None


def shown_status(row: Mapping[str, Any]) -> str:
    """The OpenAI status a row is shown with."""
    status = BatchStatus(row["status"])
    if not status.is_terminal and row.get("cancel_requested"):
        return BatchStatus.CANCELLING.value
    if status is BatchStatus.PENDING:
        return BatchStatus.VALIDATING.value
    return status.value


def _errors(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return {"object": "list", "data": [{"code": "batch_failed", "message": str(raw), "param": None, "line": None}]}
    if isinstance(parsed, dict) and "data" in parsed:
        return {"object": "list", "data": list(parsed.get("data") or [])}
    if isinstance(parsed, list):
        return {"object": "list", "data": parsed}
    return {"object": "list", "data": [{"code": "batch_failed", "message": str(parsed), "param": None, "line": None}]}


def render_batch(row: Mapping[str, Any]) -> dict[str, Any]:
    """One row as an OpenAI Batch object."""
    status = shown_status(row)
    created = int(row["created_at"])
    times: dict[str, int | None] = {
        "in_progress_at": None,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
    }
    stored = BatchStatus(row["status"])
    if stored in (BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING) or stored in _TERMINAL_AT_KEY:
        times["in_progress_at"] = _seconds(row.get("submitted_at"))
    terminal_key = _TERMINAL_AT_KEY.get(stored)
    if terminal_key:
        times[terminal_key] = _seconds(row.get("terminal_at") or row.get("status_changed_at"))
    if stored is BatchStatus.FINALIZING:
        times["finalizing_at"] = _seconds(row.get("status_changed_at"))
    elif stored is BatchStatus.COMPLETED:  # every completed batch went through finalizing (not always seen)
        times["finalizing_at"] = times["completed_at"]
    if status == BatchStatus.CANCELLING.value:
        times["cancelling_at"] = _seconds(row.get("status_changed_at")) or created
    usage = None
    if row.get("total_tokens"):
        usage = {
            "input_tokens": int(row.get("input_tokens") or 0),
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": int(row.get("output_tokens") or 0),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": int(row["total_tokens"]),
        }
    return {
        "id": row["id"],
        "object": "batch",
        "endpoint": row["endpoint"],
        "model": row["model"] or None,  # "" for a batch of requests that name no model
        "errors": _errors(row.get("errors")),
        "input_file_id": row.get("input_file_id") or "",
        "completion_window": "24h",
        "status": status,
        "output_file_id": row.get("output_file_id"),
        "error_file_id": row.get("error_file_id"),
        "created_at": created,
        "expires_at": created + COMPLETION_WINDOW_SECONDS,
        **times,
        "request_counts": {
            "total": int(row.get("request_total") or row.get("line_count") or 0),
            "completed": int(row.get("request_completed") or 0),
            "failed": int(row.get("request_failed") or 0),
        },
        "usage": usage,
        "metadata": _metadata(row),
    }


def _metadata(row: Mapping[str, Any]) -> dict[str, str] | None:
    """Strings, as OpenAI's metadata: the provider, the upstream batch id and the estimated saving when tokens
    are known."""
    metadata: dict[str, str] = {"provider": str(row.get("provider") or "openai")}
    if row.get("upstream_batch_id"):
        metadata["upstream_batch_id"] = str(row["upstream_batch_id"])
    if row.get("total_tokens"):
        saving = estimate_saving(
            str(row["model"]), int(row.get("input_tokens") or 0), int(row.get("output_tokens") or 0)
        )
        if saving is not None:
            metadata["estimated_synchronous_usd"] = f"{saving.synchronous_usd:.6f}"
            metadata["estimated_saving_usd"] = f"{saving.saving_usd:.6f}"
    return metadata


def render_page(rows: list[Mapping[str, Any]], has_more: bool) -> dict[str, Any]:
    """A list page as ``GET /v1/batches`` answers it."""
    data = [render_batch(row) for row in rows]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }
