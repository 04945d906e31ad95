"""The upstream edge's one error tree, the same for every provider and both services.

::

    UpstreamError               a provider call failed: status, code, retry_after_s, body, operation, resource
    ├── UpstreamTransient       408, 429, 5xx, timeout, connection error: the same call may succeed later
    └── UpstreamRejected        any other 4xx (or a call refused before it was sent): retrying cannot help
        └── UpstreamConflict    409: the resource is no longer in a state that allows the call
                                (e.g. cancelling a batch that already finished)

``kind`` names the class as ``"transient"``, ``"rejected"`` or ``"conflict"`` (for metrics and logs).
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["UpstreamConflict", "UpstreamError", "UpstreamRejected", "UpstreamTransient"]

ErrorKind = Literal["transient", "rejected", "conflict"]


class UpstreamError(Exception):
    """A call to the upstream provider failed.

    ``status`` is the HTTP status (``None`` for transport errors), ``code`` the provider's error code,
    ``retry_after_s`` the server's ``Retry-After`` in seconds, ``body`` the provider's error object,
    ``operation`` the call (``"batches.create"``, ``"files.content"``, ...) and ``resource`` the id it was
    about (a batch or file id), when there is one.
    """

    kind: ErrorKind = "rejected"

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        status: int | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
        body: dict[str, Any] | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.code = code
        self.retry_after_s = retry_after_s
        self.body = body
        self.resource = resource

    @property
    def transient(self) -> bool:
        """Whether the same call may succeed later (worth retrying after a backoff)."""
        return self.kind == "transient"


class UpstreamTransient(UpstreamError):
    """A fault worth retrying: 408, 429, 5xx, a timeout or a connection error."""

    kind: ErrorKind = "transient"


class UpstreamRejected(UpstreamError):
    """A 4xx other than 408/429 (or a call refused locally): the same call would fail again."""

    kind: ErrorKind = "rejected"


class UpstreamConflict(UpstreamRejected):
    """HTTP 409: the resource is no longer in a state that allows the call."""

    kind: ErrorKind = "conflict"
