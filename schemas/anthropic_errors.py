"""Anthropic's error body and the HTTP status each of its error types means (pure: the contract only).

A Messages API error is ``{"type": "error", "error": {"type": <error type>, "message": <text>}}``; the
types and their statuses are Anthropic's (``invalid_request_error`` 400 … ``overloaded_error`` 529). An
errored Message Batches line carries the same body; batch-gpt answers it with the status its type means,
and renders its own errors on ``/v1/messages`` (and the batch-level outcomes of an Anthropic batch) in it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "STATUS_BY_ERROR_TYPE",
    "anthropic_error_body",
    "as_anthropic_error",
    "error_type_for_status",
    "is_anthropic_error",
    "status_for_error_type",
]

STATUS_BY_ERROR_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_TYPE_BY_STATUS = {status: kind for kind, status in STATUS_BY_ERROR_TYPE.items()}


def status_for_error_type(error_type: str | None) -> int:
    """The HTTP status an Anthropic error type means (500, ``api_error``'s, for a type not in the table)."""
    return STATUS_BY_ERROR_TYPE.get(error_type or "", 500)


def error_type_for_status(status: int) -> str:
    """The Anthropic error type of an HTTP status: the table's, else ``invalid_request_error`` for another 4xx
    and ``api_error`` for another 5xx."""
    return _TYPE_BY_STATUS.get(status) or ("invalid_request_error" if status < 500 else "api_error")


def anthropic_error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error body for ``status`` with ``message``."""
    return {"type": "error", "error": {"type": error_type_for_status(status), "message": message}}


def is_anthropic_error(body: Any) -> bool:
    """Whether ``body`` already is Anthropic's error body."""
    return isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict)


def as_anthropic_error(status: int, body: Any, *, default_message: str = "The request failed.") -> dict[str, Any]:
    """``body`` as Anthropic's error body: kept when it already is one; else OpenAI's envelope
    ``{"error": {"message", …}}`` (or anything else) re-shaped, its message kept, its type from ``status``."""
    if is_anthropic_error(body):
        return dict(body)
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return anthropic_error_body(status, str(message) if message else default_message)
