"""The collator's typed errors.

::

    CollatorError                   root of everything the collator raises on purpose
    └── ReservationConflict         another worker reserved some of the same requests first (re-plan)

Upstream failures are :class:`batchgpt.upstream.UpstreamError` (transient ones are retried with backoff;
rejected ones give the members an error reply). Anything else raised inside a window is treated as fatal:
the process exits without acking the window.
"""

from __future__ import annotations

__all__ = ["CollatorError", "ReservationConflict"]


class CollatorError(Exception):
    """Root of the collator's errors."""


class ReservationConflict(CollatorError):
    """A unique constraint fired while reserving a batch: someone else holds some of its members."""
