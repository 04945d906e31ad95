"""Pure batch-level decisions: what each member of a terminal batch gets when its own line cannot say.

* a line that never ran (expired/cancelled): resubmitted with ``attempt + 1`` while
  ``attempt < retry_unfinished`` and the cancel was not the user's, else ``batch_expired`` / ``batch_cancelled``;
* a member in neither file: unfinished after an expiry or a cancel, ``missing_result`` otherwise;
* a batch that failed validation: the member's own ``errors.data`` entry (``line`` is 1-based); when the
  failure blames other lines only (:mod:`resolver.isolation`), resubmitted with ``attempt + 1`` while
  ``attempt < max_resubmits``; else the batch-level reason (see the table in :mod:`resolver.results`);
* ``token_limit_exceeded``: resubmitted while ``attempt < max_resubmits``, then 429;
* a batch the collator could not submit (``submission_failed``, it never reached upstream): the
  upstream's 4xx and error when it rejected the batch, 429 ``upstream_rate_limited`` when it stayed
  rate limited, else 503 ``upstream_unavailable``.

``attempt`` counts every resubmission of a request (both kinds share the one counter the contract has).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batchgpt.replies import RESUBMIT, Resubmit
from resolver.isolation import Blame
from resolver.results import INPUT_ERROR_CODES, Outcome, error_outcome
from schemas import BatchStatus, ReplyStatus
from schemas.submission import SubmissionFailure

__all__ = [
    "RESUBMIT",
    "Resubmit",
    "Verdict",
    "failed_batch_verdict",
    "is_token_limit",
    "missing_verdict",
    "submission_failed_verdict",
    "token_limit_verdict",
    "unfinished_verdict",
]


Verdict = Outcome | Resubmit

_EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."
_CANCELLED_MESSAGE = "This request was not executed because its batch was cancelled."


def unfinished_verdict(*, status: BatchStatus, attempt: int, user_cancelled: bool, retry_unfinished: int) -> Verdict:
    """A line the batch never ran: resubmit it or answer ``batch_expired`` / ``batch_cancelled``."""
    if user_cancelled:
        return error_outcome(_CANCELLED_MESSAGE, code="batch_cancelled")
    if attempt < retry_unfinished:
        return RESUBMIT
    if status is BatchStatus.CANCELLED:
        return error_outcome(_CANCELLED_MESSAGE, code="batch_cancelled")
    return error_outcome(_EXPIRED_MESSAGE, code="batch_expired")


def missing_verdict(*, status: BatchStatus, attempt: int, user_cancelled: bool, retry_unfinished: int) -> Verdict:
    """A member found in neither the output nor the error file."""
    if status in (BatchStatus.EXPIRED, BatchStatus.CANCELLED):
        return unfinished_verdict(
            status=status, attempt=attempt, user_cancelled=user_cancelled, retry_unfinished=retry_unfinished
        )
    return error_outcome(
        "The upstream batch finished without a result for this request.", code="missing_result", status_code=502
    )


def is_token_limit(errors: Sequence[dict[str, Any]]) -> bool:
    """Whether a failed batch's ``errors.data`` says the enqueued-token limit was reached."""
    return any(e.get("code") == "token_limit_exceeded" for e in errors)


def token_limit_verdict(*, attempt: int, max_resubmits: int, message: str) -> Verdict:
    """Resubmit after the token-limit wait, or answer 429 once the attempts are spent."""
    if attempt < max_resubmits:
        return RESUBMIT
    return error_outcome(message, code="token_limit_exceeded", status_code=429)


def submission_failed_verdict(failure: SubmissionFailure) -> Outcome:
    """The reply of a member of a batch the collator could not submit (the same for every member)."""
    if failure.rejected:
        inner = failure.upstream_error or {}
        return Outcome(
            ReplyStatus.FAILED,
            failure.upstream_status if failure.upstream_status is not None else 503,
            {
                "error": {
                    "message": f"The upstream Batch API rejected the batch: {inner.get('message') or failure.message}",
                    "type": str(inner.get("type") or "invalid_request_error"),
                    "param": inner.get("param"),
                    "code": str(inner.get("code") or "upstream_rejected"),
                }
            },
        )
    rate_limited = failure.upstream_status == 429
    return Outcome(
        ReplyStatus.FAILED,
        429 if rate_limited else 503,
        {
            "error": {
                "message": "The upstream Batch API stayed unavailable while submitting this request "
                f"({failure.message}); it was not submitted. Please retry later.",
                "type": "tokens" if rate_limited else "server_error",  # as in docs/architecture.md
                "param": None,
                "code": "upstream_rate_limited" if rate_limited else "upstream_unavailable",
            }
        },
    )


def failed_batch_verdict(blame: Blame, *, line_no: int, attempt: int, max_resubmits: int) -> Verdict:
    """The verdict for the member at ``line_no`` (0-based) of a batch that failed (validation, system, or never
    submitted): its own ``errors.data`` entry (400); a resubmission when the failure isolates other lines and
    ``attempt < max_resubmits``; else the batch-level reason (see :mod:`resolver.isolation`)."""
    failure = SubmissionFailure.from_errors(blame.errors)
    if failure is not None:
        return submission_failed_verdict(failure)
    own = blame.entry_for(line_no)
    if own is not None:
        return error_outcome(
            str(own.get("message") or "The request failed batch validation."),
            code=str(own.get("code") or "invalid_request"),
            status_code=400,
            param=_param(own),
        )
    if blame.isolating and attempt < max_resubmits:
        return RESUBMIT
    batch_level = [e for e in blame.errors if e.get("line") is None]
    if batch_level:
        error = batch_level[0]
        code = str(error.get("code") or "batch_failed")
        blames_input = code in INPUT_ERROR_CODES and error.get("param") != "file_id"
        return error_outcome(
            str(error.get("message") or "The batch failed upstream."),
            code=code,
            status_code=400 if blames_input else 502,
            param=_param(error),
        )
    if blame.errors:
        first = blame.errors[0]
        message = (
            "The upstream batch failed validation because of other requests in it "
            f"(line {first.get('line')}: {first.get('message')})."
        )
        if blame.isolating:
            message += " Its resubmissions are spent."
    else:
        message = "The upstream batch failed without a reason."
    return error_outcome(message, code="batch_failed", status_code=502)


def _param(error: Mapping[str, Any]) -> str | None:
    param = error.get("param")
    return param if isinstance(param, str) else None
