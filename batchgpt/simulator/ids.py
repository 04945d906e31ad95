"""Identifiers shaped like OpenAI's: random ones for new objects, derived ones for batch output lines."""

from __future__ import annotations

import hashlib
import secrets
import string

__all__ = [
    "derived_base62",
    "derived_hex",
    "new_batch_id",
    "new_chat_completion_id",
    "new_file_id",
    "new_message_batch_id",
    "new_message_id",
    "new_request_id",
]

_BASE62 = string.digits + string.ascii_letters


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def derived_base62(seed: str, length: int) -> str:
    """A base62 string of ``length`` derived from ``seed`` (same seed, same string)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def derived_hex(seed: str, length: int = 32) -> str:
    """A hex string of ``length`` derived from ``seed``."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def new_file_id() -> str:
    """``file-`` + 22 base62 characters."""
    return "file-" + _random_base62(22)


def new_batch_id() -> str:
    """``batch_`` + 32 hex characters."""
    return "batch_" + secrets.token_hex(16)


def new_request_id() -> str:
    """``req_`` + 32 hex characters, as sent in ``x-request-id``."""
    return "req_" + secrets.token_hex(16)


def new_chat_completion_id() -> str:
    """``chatcmpl-`` + 29 base62 characters."""
    return "chatcmpl-" + _random_base62(29)


def new_message_batch_id() -> str:
    """``msgbatch_`` + 24 base62 characters, as Anthropic names Message Batches."""
    return "msgbatch_" + _random_base62(24)


def new_message_id() -> str:
    """``msg_`` + 24 base62 characters, as Anthropic names Messages."""
    return "msg_" + _random_base62(24)
