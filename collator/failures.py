"""The error replies for requests the collator could not submit (pure: no I/O).

Only submission failures are answered here: upstream stayed unavailable (429/5xx/timeouts) for
``submit_max_attempts`` attempts, or it rejected the upload/create outright. A batch that is created
and later fails (``token_limit_exceeded`` included) is the resolver's to answer and resubmit.
"""

from __future__ import annotations

from typing import Any

from batchgpt.upstream import UpstreamError, UpstreamRejected
from schemas.messages import ReplyMessage, RequestMessage
from schemas.status import ReplyStatus

__all__ = ["failure_envelope", "failure_reply", "failure_status"]


def failure_status(error: UpstreamError) -> int:
    """The HTTP status the caller gets: the upstream 4xx when it rejected us, 429 when rate limited, else 503."""
    if isinstance(error, UpstreamRejected) and error.status is not None:
        return error.status
    if error.status == 429:
        return 429
    return 503


def failure_envelope(error: UpstreamError) -> dict[str, Any]:
    """OpenAI's error envelope for a request that could not be submitted."""
    if isinstance(error, UpstreamRejected):
        inner = error.body if isinstance(error.body, dict) else {}
        return {
            "error": {
                "message": f"The upstream Batch API rejected the batch: {inner.get('message') or error}",
                "type": str(inner.get("type") or "invalid_request_error"),
                "param": inner.get("param"),
                "code": str(inner.get("code") or "upstream_rejected"),
            }
        }
    rate_limited = error.status == 429
    return {
        "error": {
            "message": "The upstream Batch API stayed unavailable while submitting this request "
            f"({error}); it was not submitted. Please retry later.",
            "type": "tokens" if rate_limited else "server_error",  # as in docs/architecture.md
            "param": None,
            "code": "upstream_rate_limited" if rate_limited else "upstream_unavailable",
        }
    }


def failure_reply(request: RequestMessage, *, batch_id: str, error: UpstreamError, now: float) -> ReplyMessage:
    """The failed reply for one member of a batch that could not be submitted."""
    return ReplyMessage(
        request_id=request.request_id,
        status=ReplyStatus.FAILED,
        status_code=failure_status(error),
        body=failure_envelope(error),
        batch_id=batch_id,
        upstream_batch_id=None,
        completed_at=now,
        tenant=request.tenant,
    )
