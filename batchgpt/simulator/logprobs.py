"""Deterministic log probabilities for a generated text, in the chat and the legacy completions shapes.

The text is cut into pieces of four characters, the same count ``tokens.text_tokens`` gives, so the
tokens join back to the text and their number is the usage's output tokens. Each token's logprob is
derived from its position and text; the alternatives in ``top_logprobs`` are less likely.
"""

from __future__ import annotations

import hashlib

__all__ = ["chat_logprobs", "legacy_logprobs", "token_logprobs", "token_pieces"]

_PIECE_CHARS = 4
_ALTERNATIVES = (
    " the",
    " a",
    ",",
    ".",
    " and",
    " of",
    " to",
    " in",
    " is",
    " it",
    "\n",
    " that",
    " for",
    " on",
    " with",
    " as",
    " was",
    " be",
    " at",
    " by",
    " or",
)


def token_pieces(text: str) -> list[str]:
    """``text`` cut into tokens (four characters each, the last one shorter)."""
    return [text[start : start + _PIECE_CHARS] for start in range(0, len(text), _PIECE_CHARS)]


def _logprob(position: int, token: str) -> float:
    digest = hashlib.sha256(f"{position}:{token}".encode()).digest()
    return -round(int.from_bytes(digest[:4], "big") / 2**32 * 0.5, 6)


def _alternatives(position: int, token: str, count: int) -> list[tuple[str, float]]:
    best = _logprob(position, token)
    others = [alt for alt in _ALTERNATIVES if alt != token][:count]
    return [(alt, round(best - 2.0 * (rank + 1) + _logprob(position, alt), 6)) for rank, alt in enumerate(others)]


def _entry(token: str, logprob: float) -> dict[str, object]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def token_logprobs(text: str, top: int) -> list[dict[str, object]]:
    """One ``{token, logprob, bytes, top_logprobs}`` per token; ``top_logprobs`` has ``top`` entries, the
    token itself first (the chat ``logprobs.content`` and Responses ``output_text.logprobs`` items)."""
    items: list[dict[str, object]] = []
    for position, token in enumerate(token_pieces(text)):
        logprob = _logprob(position, token)
        ranked = [(token, logprob), *_alternatives(position, token, max(0, top - 1))][:top]
        items.append({**_entry(token, logprob), "top_logprobs": [_entry(t, lp) for t, lp in ranked]})
    return items


def chat_logprobs(text: str | None, top: int) -> dict[str, object]:
    """A chat choice's ``logprobs``: ``{"content": [...], "refusal": None}`` (content None without text)."""
    return {"content": None if text is None else token_logprobs(text, top), "refusal": None}


def legacy_logprobs(text: str, top: int, offset: int = 0) -> dict[str, object]:
    """A legacy completion choice's ``logprobs``: parallel ``tokens``, ``token_logprobs``,
    ``top_logprobs`` (a dict of up to ``top`` tokens each) and ``text_offset`` lists."""
    tokens = token_pieces(text)
    logprobs = [_logprob(position, token) for position, token in enumerate(tokens)]
    tops = [
        dict([(token, logprobs[position]), *_alternatives(position, token, max(0, top - 1))][:top])
        for position, token in enumerate(tokens)
    ]
    offsets = [offset + position * _PIECE_CHARS for position in range(len(tokens))]
    return {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": tops, "text_offset": offsets}
