"""Ingress's typed errors, each rendered as OpenAI's ``{"error": {message, type, param, code}}`` envelope.

The tree (one root; every leaf carries its HTTP status, OpenAI ``type`` and default ``code``; ``null``
where OpenAI sends ``null``)::

    IngressError                     500 server_error                    retry
    ├── InvalidRequest               400 invalid_request_error (param, code set per case; bad JSON: null)
    ├── AuthenticationFailed         401 invalid_request_error / null (no key), invalid_api_key (wrong key)
    ├── NotFound                     404 invalid_request_error / null (unknown URL), batch_not_found, request_not_found
    ├── MethodNotAllowed             405 invalid_request_error / null
    ├── Conflict                     409 invalid_request_error / null (cancel of a finished batch),
    │                                    idempotency_key_reused (a key re-used with another body)
    ├── PayloadTooLarge              413 invalid_request_error / null
    ├── TooManyPending               429 requests / rate_limit_exceeded   retry (Retry-After)
    ├── ServiceUnavailable           503 server_error / null              retry (Retry-After; draining, no upstream)
    │                                    database_unavailable, broker_unavailable (outages: ingress.outages)
    └── ResultPending                504 server_error / result_pending    retry (Retry-After, Location)

Every error answer says whether a retry can help (``x-should-retry``, which the OpenAI SDK obeys over
its own status rules): ``false`` for the 4xx leaves (the same call would fail the same way; a 409 would
otherwise be retried by the SDK), ``true`` with ``Retry-After`` for the others.

``ResultPending`` is what a held call gets when its wait limit passes (or its replica drains) and the
caller did not ask for asynchronous answers: a 202 would be parsed by the SDK as a completion. 504
(the gateway's upstream, the batch, has not answered in time) is a status the SDKs retry and map to
their server-error class; the retry re-attaches to the same request (``x-stainless-retry-count`` ≥ 1)
at no cost, and ``Location`` names where its result can be fetched.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingress.replies.retry_hints import retry_headers

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "IngressError",
    "InvalidRequest",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ResultPending",
    "ServiceUnavailable",
    "TooManyPending",
]


class IngressError(Exception):
    """Root of ingress's errors: anything the HTTP API answers with an error envelope.

    A leaf declares its status, OpenAI ``type`` and default code in its class line:
    ``class Gone(IngressError, status=410, error_type="invalid_request_error", label="gone")``
    (``label`` names the error in metrics and logs when its code is null).
    """

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    default_code: ClassVar[str | None] = None
    label: ClassVar[str] = "server_error"

    def __init_subclass__(
        cls,
        *,
        status: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        label: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Set what the class line declares; anything not declared is inherited (or set in the class body)."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if error_type is not None:
            cls.error_type = error_type
        if code is not None:
            cls.default_code = code
        if label is not None or code is not None:
            cls.label = label or code or cls.label

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after_seconds: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.retry_after_seconds = retry_after_seconds
        self._reason = reason

    def envelope(self) -> dict[str, Any]:
        """OpenAI's error body for this error."""
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}

    def headers(self) -> dict[str, str]:
        """The retry hint (``x-should-retry``, and ``Retry-After`` when a retry can help)."""
        return retry_headers(self.status_code, self.code, self.retry_after_seconds)

    @property
    def reason(self) -> str:
        """A short label for metrics and logs."""
        return self._reason or self.code or self.label


class InvalidRequest(IngressError, status=400, error_type="invalid_request_error", label="invalid_request"):
    """The request cannot be accepted as sent (bad JSON, missing or wrongly typed field)."""


class AuthenticationFailed(IngressError, status=401, error_type="invalid_request_error", label="unauthenticated"):
    """No API key, or one that is not in ``BATCHGPT_API_KEYS``."""


class NotFound(IngressError, status=404, error_type="invalid_request_error", label="not_found"):
    """An unknown id, another caller's id, or an unknown route."""


class MethodNotAllowed(IngressError, status=405, error_type="invalid_request_error", label="method_not_allowed"):
    """A known route called with the wrong method."""


class Conflict(IngressError, status=409, error_type="invalid_request_error", label="conflict"):
    """The request conflicts with the current state (a finished batch, a reused Idempotency-Key)."""


class PayloadTooLarge(IngressError, status=413, error_type="invalid_request_error", label="request_too_large"):
    """The body is larger than ``BATCHGPT_MAX_BODY_BYTES``."""


class TooManyPending(IngressError, status=429, error_type="requests", code="rate_limit_exceeded"):
    """The caller already has ``BATCHGPT_MAX_PENDING_PER_KEY`` requests under way."""


class ServiceUnavailable(IngressError, status=503, error_type="server_error", label="service_unavailable"):
    """A dependency is down (the database, Kafka: see :mod:`ingress.outages`), or this replica is shutting down."""


class ResultPending(IngressError, status=504, error_type="server_error", code="result_pending"):
    """A held call's wait limit passed (or its replica drains) before its result: retry to re-attach."""

    def __init__(self, message: str, *, location: str, retry_after_seconds: int) -> None:
        super().__init__(message, retry_after_seconds=retry_after_seconds)
        self.location = location

    def headers(self) -> dict[str, str]:
        """The retry hint plus ``Location`` of the request's result."""
        return {**super().headers(), "location": self.location}
