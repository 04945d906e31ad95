"""Translating a provider SDK's exceptions (and the transport's) into the upstream error tree, whichever SDK.

The openai and anthropic SDKs share one exception design (``APIStatusError`` with ``status_code``, ``body`` and
``response``; ``APITimeoutError``; ``APIConnectionError``; ``APIError`` for the rest); :class:`SdkErrors` names
one SDK's classes and how its error bodies carry a code, and :func:`translate_sdk` maps them the same way for
every provider: 408, 429, 5xx, timeouts, connection and transport errors are transient; a 409 is a conflict; any
other 4xx, or a call the SDK refused to send (``ValueError``), is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2

from batchgpt.upstream.errors import UpstreamConflict, UpstreamError, UpstreamRejected, UpstreamTransient
from batchgpt.upstream.retry_after import parse_retry_after

__all__ = ["SdkErrors", "translate_sdk"]

_RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class SdkErrors:
    """One SDK's exception classes, and the error code its error body carries (``None`` when it has none)."""

    status: type[Exception]
    timeout: type[Exception]
    connection: type[Exception]
    base: type[Exception]
    code_of: Callable[[dict[str, Any] | None], str | None]
    transport: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
    """The HTTP libraries' own errors, which can surface while a body streams (both SDKs now run on httpx2)."""

    @property
    def translated(self) -> tuple[type[Exception], ...]:
        """What :func:`translate_sdk` maps (anything else is a bug and propagates as is)."""
        return (self.base, *self.transport, OSError, ValueError)


def _status_error(sdk: SdkErrors, exc: Any, operation: str, resource: str | None) -> UpstreamError:
    status: int = exc.status_code
    body = exc.body if isinstance(exc.body, dict) else None
    kind: type[UpstreamError]
    if status in _RETRIED_STATUSES or status >= 500:
        kind, message = UpstreamTransient, f"{operation}: HTTP {status}"
    else:
        kind = UpstreamConflict if status == 409 else UpstreamRejected
        message = f"{operation}: HTTP {status}: {exc.message}"
    return kind(
        message,
        operation=operation,
        status=status,
        code=sdk.code_of(body),
        body=body,
        resource=resource,
        retry_after_s=parse_retry_after(exc.response.headers),
    )


def translate_sdk(sdk: SdkErrors, exc: Exception, operation: str, resource: str | None = None) -> UpstreamError:
    """The :class:`UpstreamError` for ``exc``, raised by ``operation`` on ``resource`` (a batch or file id)."""
    if isinstance(exc, sdk.status):
        return _status_error(sdk, exc, operation, resource)
    if isinstance(exc, sdk.timeout):
        return UpstreamTransient(f"{operation}: timed out", operation=operation, resource=resource)
    if isinstance(exc, (sdk.connection, *sdk.transport, OSError)):
        return UpstreamTransient(f"{operation}: connection error", operation=operation, resource=resource)
    if isinstance(exc, sdk.base):  # e.g. a response that does not parse: the next one may
        return UpstreamTransient(f"{operation}: {exc}", operation=operation, resource=resource)
    if isinstance(exc, ValueError):
        return UpstreamRejected(f"{operation}: {exc}", operation=operation, resource=resource)
    raise exc
