"""The collator's typed errors.

::

    CollatorError                   root of everything the collator raises on purpose
    (nothing else yet: reservation conflicts are the store's, upstream failures the upstream edge's)

A reservation conflict is :class:`batchgpt.store.errors.ReservationConflict`; upstream failures are
:class:`batchgpt.upstream.UpstreamError` (transient ones are retried with backoff; after the last try, or
at once for a rejected one, the batch is recorded as failed and the resolver answers its members).
Anything else raised inside a window is treated as fatal: the process exits without acking the window.
"""

from __future__ import annotations

__all__ = ["CollatorError"]


class CollatorError(Exception):
    """Root of the collator's errors."""


