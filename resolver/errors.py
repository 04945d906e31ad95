"""The resolver's typed errors.

::

    ResolverError                 root of everything the resolver raises on purpose
    └── ResultLineError           a line of an output/error file is not a valid batch result line

    LeaseLostError                another worker took over a batch this worker was resolving (the store's
                                  :class:`~batchgpt.store.errors.LeaseLost`, raised by the lease functions)

Upstream failures are :class:`batchgpt.upstream.UpstreamError` (409: ``UpstreamConflict``).
"""

from __future__ import annotations

from batchgpt.store.errors import LeaseLost

__all__ = ["LeaseLostError", "ResolverError", "ResultLineError"]


class ResolverError(Exception):
    """Root of the resolver's errors."""


class ResultLineError(ResolverError):
    """A result file line that is not JSON or has no ``custom_id``."""


LeaseLostError = LeaseLost
"""This worker's lease on a batch expired and another worker may now own it (raised by the store)."""
