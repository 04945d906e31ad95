"""Identifiers ingress makes: request ids (``req_`` + 32 hex) and per-response ``x-request-id`` values.

They only need to be unique, not secret (access is checked by tenant), so they come from a
per-process generator seeded once from the OS rather than a system call per id.
"""

from __future__ import annotations

import os
import random

__all__ = ["new_http_id", "new_request_id"]

_random = random.Random(os.urandom(32))  # noqa: S311 - uniqueness, not secrecy


def _reseed() -> None:
    """A forked worker must not repeat its parent's (or a sibling's) sequence of ids."""
    _random.seed(os.urandom(32))


os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A fresh request id: ``req_`` + 32 hex digits."""
    return f"req_{_random.getrandbits(128):032x}"


def new_http_id() -> str:
    """A fresh id for one HTTP exchange (the ``x-request-id`` header)."""
    return f"{_random.getrandbits(96):024x}"
