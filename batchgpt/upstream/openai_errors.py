"""Translating the openai SDK's exceptions (and the transport's) into the upstream error tree."""

from __future__ import annotations

import httpx
import openai

from batchgpt.upstream.errors import UpstreamConflict, UpstreamError, UpstreamRejected, UpstreamTransient
from batchgpt.upstream.retry_after import parse_retry_after

__all__ = ["TRANSLATED", "translate"]

TRANSLATED: tuple[type[Exception], ...] = (openai.APIError, httpx.HTTPError, OSError, ValueError)
"""What :func:`translate` maps (anything else is a bug and propagates as is). The SDK raises ``ValueError``
before sending a call it refuses (an empty id); ``httpx``/``OSError`` can surface while a body streams."""

_RETRIED_STATUSES = frozenset({408, 429})


def _status_error(exc: openai.APIStatusError, operation: str, resource: str | None) -> UpstreamError:
    status = exc.status_code
    body = exc.body if isinstance(exc.body, dict) else None
    code = body.get("code") if body is not None and isinstance(body.get("code"), str) else None
    kind: type[UpstreamError]
    if status in _RETRIED_STATUSES or status >= 500:
        kind, message = UpstreamTransient, f"{operation}: HTTP {status}"
    else:
        kind = UpstreamConflict if status == 409 else UpstreamRejected
        message = f"{operation}: HTTP {status}: {exc.message}"
    return kind(
        message, operation=operation, status=status, code=code, body=body, resource=resource,
        retry_after_s=parse_retry_after(exc.response.headers),
    )


def translate(exc: Exception, operation: str, resource: str | None = None) -> UpstreamError:
    """The :class:`UpstreamError` for ``exc``, raised by ``operation`` on ``resource`` (a batch or file id).

    408, 429, 5xx, timeouts, connection and transport errors are transient; a 409 is a conflict; any
    other 4xx, or a call the SDK refused to send, is rejected. Anything not in :data:`TRANSLATED` is re-raised.
    """
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, operation, resource)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamTransient(f"{operation}: timed out", operation=operation, resource=resource)
    if isinstance(exc, openai.APIConnectionError | httpx.HTTPError | OSError):
        return UpstreamTransient(f"{operation}: connection error", operation=operation, resource=resource)
    if isinstance(exc, openai.APIError):  # e.g. a response that does not parse: the next one may
        return UpstreamTransient(f"{operation}: {exc.message}", operation=operation, resource=resource)
    if isinstance(exc, ValueError):
        return UpstreamRejected(f"{operation}: {exc}", operation=operation, resource=resource)
    raise exc
