"""Retry hints: whether a retry of a call can help, per outcome code (``x-should-retry``, ``Retry-After``). Pure.

The OpenAI SDK retries 408, 409, 429 and 5xx unless the answer says ``x-should-retry: false`` (and
always when it says ``true``), waiting ``Retry-After`` when it is short. Every error answer carries
the hint, decided per outcome code first and by status for codes not listed (a batch line's own
error keeps its provider code):

* **final** (``false``): the 4xx line errors (a bad request, an unknown model, a line that failed its
  batch's validation), a cancel (``batch_cancelled``, 409: the SDK would otherwise send a cancelled
  request again), ingress's own 4xx refusals;
* **transient** (``true`` with ``Retry-After``): 408, 429 (``token_limit_exceeded``,
  ``upstream_rate_limited``, ``rate_limit_exceeded``) and 5xx (``batch_expired``, ``missing_result``,
  ``batch_failed`` caused by other lines, ``batch_not_found``, ``upstream_unavailable``, a held call's
  ``result_pending``, an outage's ``database_unavailable`` / ``broker_unavailable``).

An SDK retry re-attaches to the request it retries (``x-stainless-retry-count`` ≥ 1) instead of adding
a batch line, except after a transient failure: that is the retry the hint asked for, so it becomes a
new request (a stored 429/5xx is never replayed); a new call (retry count 0) is always a new request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingress.replies.outcomes import Finished

__all__ = [
    "DEFAULT_RETRY_AFTER_SECONDS",
    "FINAL_CODES",
    "TRANSIENT_CODES",
    "error_code",
    "retries_into_a_new_request",
    "retry_headers",
    "should_retry",
]

DEFAULT_RETRY_AFTER_SECONDS = 1
"""``Retry-After`` of a transient error that names no delay of its own."""

FINAL_CODES = frozenset({"batch_cancelled", "idempotency_key_reused"})
"""Codes a retry cannot help, whatever their status."""

TRANSIENT_CODES = frozenset(
    {
        "batch_expired",
        "missing_result",
        "batch_not_found",
        "token_limit_exceeded",
        "upstream_rate_limited",
        "upstream_unavailable",
        "database_unavailable",
        "broker_unavailable",
        "rate_limit_exceeded",
        "result_pending",
    }
)
"""Codes a later retry may get past, whatever their status."""

_RETRIED_STATUSES = frozenset({408, 429})


def should_retry(status_code: int, code: str | None) -> bool:
    """Whether a retry of the call that got ``status_code`` / ``code`` can help."""
    if code in FINAL_CODES:
        return False
    if code in TRANSIENT_CODES:
        return True
    return status_code in _RETRIED_STATUSES or status_code >= 500


def retry_headers(status_code: int, code: str | None, retry_after_seconds: int | None = None) -> dict[str, str]:
    """The hint headers of an error answer: ``x-should-retry``, and ``Retry-After`` when it is ``true``."""
    if not should_retry(status_code, code):
        return {"x-should-retry": "false"}
    seconds = retry_after_seconds if retry_after_seconds is not None else DEFAULT_RETRY_AFTER_SECONDS
    return {"x-should-retry": "true", "retry-after": str(seconds)}


def error_code(body: dict[str, Any]) -> str | None:
    """The ``error.code`` of an OpenAI error envelope (None when there is none)."""
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def retries_into_a_new_request(result: Finished) -> bool:
    """Whether an SDK retry of a request that ended with ``result`` must become a new request.

    A failure whose hint said ``x-should-retry: true`` told the SDK that sending again can help; replaying
    the stored failure to that retry would make the hint a lie (issue: "failures cached").
    """
    return not result.ok and should_retry(result.status_code, error_code(result.body))
