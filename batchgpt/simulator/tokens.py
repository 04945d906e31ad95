"""Plausible token counts (about four characters a token) without a tokenizer."""

from __future__ import annotations

import math

__all__ = ["chat_prompt_tokens", "input_tokens", "text_tokens", "usage_counts"]


def text_tokens(text: str) -> int:
    """Tokens in ``text``: roughly one per four characters, at least one for non-empty text."""
    if not text:
        return 0
    return max(1, math.ceil(len(text) / 4))


def chat_prompt_tokens(messages: object) -> int:
    """Prompt tokens of a chat ``messages`` list: content plus a few tokens of framing per message."""
    if not isinstance(messages, list):
        return 0
    total = 3
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += 4
        content = message.get("content")
        if isinstance(content, str):
            total += text_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += text_tokens(part["text"])
                else:
                    total += 85  # an image or other non-text part
        name = message.get("name")
        if isinstance(name, str):
            total += text_tokens(name)
    return total


def input_tokens(raw: object) -> int:
    """Tokens of an ``input``/``prompt``: a string, a token array, or a list of either (arrays count their
    tokens)."""
    items = raw if isinstance(raw, list) and not all(isinstance(x, int) for x in raw) else [raw]
    total = 0
    for item in items:
        if isinstance(item, list):
            total += len(item)
        elif isinstance(item, str):
            total += text_tokens(item)
    return total


def usage_counts(prompt_tokens: int, completion_tokens: int) -> dict[str, object]:
    """A completion's ``usage``: ``prompt_tokens``, ``completion_tokens`` and their ``total_tokens``."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
