"""The resolver's typed errors.

::

    ResolverError                 root of everything the resolver raises on purpose
    ├── UpstreamError             an OpenAI call failed (status, code, retry_after_seconds)
    │   └── UpstreamConflictError the upstream refused a state change (HTTP 409, e.g. cancel of a finished batch)
    └── ResultLineError           a line of an output/error file is not a valid batch result line

    LeaseLostError                another worker took over a batch this worker was resolving (the store's
                                  :class:`~batchgpt.store.errors.LeaseLost`, raised by the lease functions)
"""

from __future__ import annotations

from batchgpt.store.errors import LeaseLost

__all__ = ["LeaseLostError", "ResolverError", "ResultLineError", "UpstreamConflictError", "UpstreamError"]


class ResolverError(Exception):
    """Root of the resolver's errors."""


class UpstreamError(ResolverError):
    """An upstream (OpenAI) call failed; ``retry_after_seconds`` is the server's hint, ``resource`` the id."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status: int | None = None,
        code: str | None = None,
        retry_after_seconds: float | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.resource = resource
        self.status = status
        self.code = code
        self.retry_after_seconds = retry_after_seconds


class UpstreamConflictError(UpstreamError):
    """The upstream answered 409: the batch is no longer in a state that allows the call."""


class ResultLineError(ResolverError):
    """A result file line that is not JSON or has no ``custom_id``."""


LeaseLostError = LeaseLost
"""This worker's lease on a batch expired and another worker may now own it (raised by the store)."""
