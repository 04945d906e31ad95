"""Anthropic's error envelope for the simulator's Messages and Message Batches routes.

Anthropic answers every error as ``{"type": "error", "error": {"type", "message"}}`` with the error type fixed
by the HTTP status (:data:`ERROR_TYPES`). :class:`AnthropicError` is a :class:`SimError` rendered that way, so
the same handlers, faults and headers serve both APIs; :func:`in_anthropics_words` rewords an OpenAI-shaped
error (an injected fault, a FastAPI validation error, an unknown route) for a client of the Anthropic routes.
"""

from __future__ import annotations

from batchgpt.simulator.errors import SimError, retry_headers

__all__ = [
    "ANTHROPIC_PATH_PREFIX",
    "ERROR_TYPES",
    "AnthropicError",
    "anthropic_error",
    "error_type",
    "in_anthropics_words",
    "is_anthropic_path",
]

ANTHROPIC_PATH_PREFIX = "/v1/messages"
"""Every Anthropic route of the simulator (``/v1/messages``, ``/v1/messages/batches…``) starts with it."""

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_DEFAULT_MESSAGES: dict[str, str] = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit.",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
    "authentication_error": "invalid x-api-key",
    "not_found_error": "Not found",
}


def error_type(status: int) -> str:
    """Anthropic's error type for an HTTP status (other 4xx: ``invalid_request_error``; other 5xx: ``api_error``)."""
    if status in ERROR_TYPES:
        return ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


class AnthropicError(SimError):
    """An error in Anthropic's words: ``{"type": "error", "error": {"type", "message"}}``."""

    def body(self) -> dict[str, object]:
        return {"type": "error", "error": {"type": self.type, "message": self.message}}


def anthropic_error(
    status: int, message: str | None = None, *, retry_after_seconds: float | None = None
) -> AnthropicError:
    """The error Anthropic answers with ``status`` (its type from the status; a default message per type)."""
    kind = error_type(status)
    text = message or _DEFAULT_MESSAGES.get(kind) or f"Simulated error {status} for this request."
    return AnthropicError(status, text, type_=kind, headers=retry_headers(retry_after_seconds))


def in_anthropics_words(error: SimError) -> AnthropicError:
    """The same error as Anthropic words it (its type from the status); headers are kept."""
    if isinstance(error, AnthropicError):
        return error
    return AnthropicError(error.status, error.message, type_=error_type(error.status), headers=error.headers)


def is_anthropic_path(path: str) -> bool:
    """Whether ``path`` is one of the Anthropic routes (answered in Anthropic's words)."""
    return path == ANTHROPIC_PATH_PREFIX or path.startswith(ANTHROPIC_PATH_PREFIX + "/")
