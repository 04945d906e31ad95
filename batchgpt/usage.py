"""The tokens a provider's answer reports in its ``usage``, read by the endpoint that answered it. Pure.

| endpoint | input | output |
|---|---|---|
| ``/v1/chat/completions``, ``/v1/completions`` | ``prompt_tokens`` | ``completion_tokens`` |
| ``/v1/responses`` | ``input_tokens`` | ``output_tokens`` |
| ``/v1/embeddings`` | ``prompt_tokens`` | 0 |
| ``/v1/messages`` (Anthropic) | ``input_tokens`` | ``output_tokens`` |

Any other endpoint (or none given) takes whichever of the two namings the body uses. A body without a
``usage`` object, or whose counts are not whole numbers, reports nothing (``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TokenCount", "usage_of"]


@dataclass(frozen=True, slots=True)
class TokenCount:
    """Input (prompt) and output (completion) tokens of one answer."""

    input_tokens: int
    output_tokens: int


_PROMPT = ("prompt_tokens", "completion_tokens")
_INPUT = ("input_tokens", "output_tokens")
_EMBEDDING = ("prompt_tokens", None)

_NAMES: dict[str, tuple[str, str | None]] = {
    "/v1/chat/completions": _PROMPT,
    "/v1/completions": _PROMPT,
    "/v1/responses": _INPUT,
    "/v1/embeddings": _EMBEDDING,
    "/v1/messages": _INPUT,
}


def _count(usage: Mapping[str, Any], name: str | None) -> int | None:
    if name is None:
        return 0
    value = usage.get(name, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_of(endpoint: str | None, body: Any) -> TokenCount | None:
    """The tokens ``body`` (an answer of ``endpoint``) reports; ``None`` when it reports none."""
    if not isinstance(body, Mapping):
        return None
    usage = body.get("usage")
    if not isinstance(usage, Mapping):
        return None
    names = _NAMES.get(endpoint or "")
    if names is None:
        names = _INPUT if "input_tokens" in usage else _PROMPT
    input_tokens, output_tokens = _count(usage, names[0]), _count(usage, names[1])
    if input_tokens is None or output_tokens is None:
        return None
    return TokenCount(input_tokens, output_tokens)
