"""The collator's typed errors.

::

    CollatorError                   root of everything the collator raises on purpose
    ├── UpstreamError               the upstream Files/Batches API did not do what we asked
    │   ├── UpstreamTransient       429, 5xx, timeout, connection error: retried with backoff
    │   └── UpstreamRejected        any other 4xx: retrying cannot help; the batch is recorded as failed

(A reservation conflict is the store's :class:`batchgpt.store.errors.ReservationConflict`.)
Anything else raised inside a window is treated as fatal: the process exits without acking the window.
"""

from __future__ import annotations

__all__ = [
    "CollatorError",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamTransient",
]


class CollatorError(Exception):
    """Root of the collator's errors."""


class UpstreamError(CollatorError):
    """The upstream API failed a call; ``status`` is the HTTP status (None for transport errors)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None,
                 body: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        self.body = body


class UpstreamTransient(UpstreamError):
    """A fault worth retrying (429, 5xx, timeout, connection error)."""


class UpstreamRejected(UpstreamError):
    """A 4xx other than 429: the same call would fail again."""
