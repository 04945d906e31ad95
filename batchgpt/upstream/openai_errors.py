"""Translating the openai SDK's exceptions (and the transport's) into the upstream error tree
(:mod:`~batchgpt.upstream.sdk_errors`; the code is the envelope's ``code``)."""

from __future__ import annotations

from typing import Any

import openai

from batchgpt.upstream.errors import UpstreamError
from batchgpt.upstream.sdk_errors import SdkErrors, translate_sdk

__all__ = ["TRANSLATED", "translate"]


def _code(body: dict[str, Any] | None) -> str | None:
    code = body.get("code") if body is not None else None
    return code if isinstance(code, str) else None


_OPENAI = SdkErrors(
    status=openai.APIStatusError,
    timeout=openai.APITimeoutError,
    connection=openai.APIConnectionError,
    base=openai.APIError,
    code_of=_code,
)

TRANSLATED: tuple[type[Exception], ...] = _OPENAI.translated
"""What :func:`translate` maps (anything else is a bug and propagates as is). The SDK raises ``ValueError``
before sending a call it refuses (an empty id); ``httpx``/``OSError`` can surface while a body streams."""


def translate(exc: Exception, operation: str, resource: str | None = None) -> UpstreamError:
    """The :class:`UpstreamError` for ``exc``, raised by ``operation`` on ``resource`` (a batch or file id).

    408, 429, 5xx, timeouts, connection and transport errors are transient; a 409 is a conflict; any
    other 4xx, or a call the SDK refused to send, is rejected. Anything not in :data:`TRANSLATED` is re-raised.
    """
    return translate_sdk(_OPENAI, exc, operation, resource)
