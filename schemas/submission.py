"""How the collator records a batch it could not submit, for the resolver to answer (the contract of
one ``batches.errors`` entry; pure, no I/O).

The collator gives up when upstream stayed unavailable (429/5xx/timeouts) for ``submit_max_attempts``
attempts, or rejected the upload/create outright. It then stores the batch as ``failed`` with one
entry ``{"code": "submission_failed", ...}`` carrying what upstream said; the resolver reads it back
and answers every member (the only service that answers callers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SUBMISSION_FAILED", "SubmissionFailure"]

SUBMISSION_FAILED = "submission_failed"
"""The ``code`` of the ``batches.errors`` entry of a batch that never reached upstream."""


@dataclass(frozen=True)
class SubmissionFailure:
    """Why a batch could not be submitted: the last upstream error, as data."""

    message: str
    """The error as the collator logged it (operation, HTTP status, upstream message)."""
    rejected: bool
    """True: upstream refused the request (a 4xx other than 429), retrying cannot help."""
    upstream_status: int | None = None
    """The last HTTP status upstream answered (None for timeouts and connection errors)."""
    upstream_error: dict[str, Any] | None = None
    """Upstream's own error object (``message``, ``type``, ``param``, ``code``) when it sent one."""

    def to_error(self) -> dict[str, Any]:
        """The ``batches.errors`` entry (``line`` and ``param`` None: it concerns the whole batch)."""
        return {
            "code": SUBMISSION_FAILED,
            "message": self.message,
            "param": None,
            "line": None,
            "rejected": self.rejected,
            "upstream_status": self.upstream_status,
            "upstream_error": self.upstream_error,
        }

    @classmethod
    def from_errors(cls, errors: Sequence[dict[str, Any]]) -> SubmissionFailure | None:
        """The failure recorded among a batch's ``errors`` (None: the batch did reach upstream)."""
        for error in errors:
            if error.get("code") != SUBMISSION_FAILED:
                continue
            status = error.get("upstream_status")
            inner = error.get("upstream_error")
            return cls(
                message=str(error.get("message") or ""),
                rejected=bool(error.get("rejected")),
                upstream_status=status if isinstance(status, int) else None,
                upstream_error=inner if isinstance(inner, dict) else None,
            )
        return None
