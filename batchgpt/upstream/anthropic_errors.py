"""Translating the anthropic SDK's exceptions (and the transport's) into the upstream error tree, as OpenAI's
(:mod:`~batchgpt.upstream.sdk_errors`): the code is the error ``type`` of Anthropic's envelope
``{"type": "error", "error": {"type", "message"}}`` (``rate_limit_error``, ``overloaded_error`` …), and the body
is kept as Anthropic wrote it. A 529 (overloaded) is a 5xx: transient.
"""

from __future__ import annotations

from typing import Any

import anthropic

from batchgpt.upstream.errors import UpstreamError
from batchgpt.upstream.sdk_errors import SdkErrors, translate_sdk

__all__ = ["TRANSLATED", "translate"]


def _code(body: dict[str, Any] | None) -> str | None:
    error = body.get("error") if body is not None else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None


_ANTHROPIC = SdkErrors(
    status=anthropic.APIStatusError,
    timeout=anthropic.APITimeoutError,
    connection=anthropic.APIConnectionError,
    base=anthropic.AnthropicError,
    code_of=_code,
)

TRANSLATED: tuple[type[Exception], ...] = _ANTHROPIC.translated
"""What :func:`translate` maps (anything else is a bug and propagates as is)."""


def translate(exc: Exception, operation: str, resource: str | None = None) -> UpstreamError:
    """The :class:`UpstreamError` for ``exc``, raised by ``operation`` on ``resource`` (a Message Batch id)."""
    return translate_sdk(_ANTHROPIC, exc, operation, resource)
