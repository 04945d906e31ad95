"""Ingress's typed errors, each rendered as OpenAI's ``{"error": {message, type, param, code}}`` envelope.

The tree (one root; every leaf carries its HTTP status, OpenAI ``type``, ``param`` and ``code``)::

    IngressError                     500 server_error
    ├── InvalidRequest               400 invalid_request_error   (param, code set per case)
    ├── AuthenticationFailed         401 invalid_request_error / invalid_api_key
    ├── NotFound                     404 invalid_request_error / not_found, batch_not_found, request_not_found
    ├── MethodNotAllowed             405 invalid_request_error / method_not_allowed
    ├── Conflict                     409 invalid_request_error (cancel of a finished batch, reused Idempotency-Key)
    ├── PayloadTooLarge              413 invalid_request_error / request_too_large
    ├── TooManyPending               429 requests / rate_limit_exceeded  (Retry-After)
    └── ServiceUnavailable           503 server_error / service_unavailable (Retry-After; Kafka down, shutting down)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "IngressError",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyPending",
]


class IngressError(Exception):
    """Root of ingress's errors: anything the HTTP API answers with an error envelope."""

    status_code: int = 500
    error_type: str = "server_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.retry_after_seconds = retry_after_seconds

    def envelope(self) -> dict[str, Any]:
        """OpenAI's error body for this error."""
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}

    def headers(self) -> dict[str, str]:
        """Extra response headers (``Retry-After`` when set)."""
        return {"retry-after": str(self.retry_after_seconds)} if self.retry_after_seconds is not None else {}

    @property
    def reason(self) -> str:
        """A short label for metrics and logs."""
        return self.code or self.error_type


class InvalidRequest(IngressError):
    """The request cannot be accepted as sent (bad JSON, missing or wrongly typed field)."""

    status_code = 400
    error_type = "invalid_request_error"
    default_code = "invalid_value"


class AuthenticationFailed(IngressError):
    """No API key, or one that is not in ``BATCHGPT_API_KEYS``."""

    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class NotFound(IngressError):
    """An unknown id, another caller's id, or an unknown route."""

    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class MethodNotAllowed(IngressError):
    """A known route called with the wrong method."""

    status_code = 405
    error_type = "invalid_request_error"
    default_code = "method_not_allowed"


class Conflict(IngressError):
    """The request conflicts with the current state (a finished batch, a reused Idempotency-Key)."""

    status_code = 409
    error_type = "invalid_request_error"


class PayloadTooLarge(IngressError):
    """The body is larger than ``BATCHGPT_MAX_BODY_BYTES``."""

    status_code = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class TooManyPending(IngressError):
    """The caller already has ``BATCHGPT_MAX_PENDING_PER_KEY`` requests under way."""

    status_code = 429
    error_type = "requests"
    default_code = "rate_limit_exceeded"


class ServiceUnavailable(IngressError):
    """Kafka did not acknowledge the request, or this replica is shutting down; nothing was accepted."""

    status_code = 503
    error_type = "server_error"
    default_code = "service_unavailable"
