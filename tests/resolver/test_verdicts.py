"""Batch-level decisions (unfinished, missing, validation failure, token limit), without a broker."""

from __future__ import annotations

from resolver.isolation import blame_lines
from resolver.results import Outcome
from resolver.verdicts import (
    RESUBMIT,
    failed_batch_verdict,
    is_token_limit,
    missing_verdict,
    token_limit_verdict,
    unfinished_verdict,
)
from schemas import BatchStatus


def _code(outcome: object) -> str:
    assert isinstance(outcome, Outcome)
    return str(outcome.body["error"]["code"])


def test_unfinished_lines_are_resubmitted_until_the_retry_budget_is_spent() -> None:
    kw = {"status": BatchStatus.EXPIRED, "user_cancelled": False, "retry_unfinished": 1}
    assert unfinished_verdict(attempt=0, **kw) is RESUBMIT
    spent = unfinished_verdict(attempt=1, **kw)
    assert isinstance(spent, Outcome) and spent.status_code == 504 and _code(spent) == "batch_expired"


def test_unfinished_after_a_system_cancel_ends_as_batch_cancelled() -> None:
    verdict = unfinished_verdict(status=BatchStatus.CANCELLED, attempt=0, user_cancelled=False, retry_unfinished=0)
    assert _code(verdict) == "batch_cancelled"


def test_user_cancelled_lines_are_never_resubmitted() -> None:
    verdict = unfinished_verdict(status=BatchStatus.CANCELLED, attempt=0, user_cancelled=True, retry_unfinished=5)
    assert isinstance(verdict, Outcome) and _code(verdict) == "batch_cancelled" and verdict.status_code == 409


def test_a_member_missing_from_a_completed_batch_gets_missing_result() -> None:
    verdict = missing_verdict(status=BatchStatus.COMPLETED, attempt=0, user_cancelled=False, retry_unfinished=3)
    assert isinstance(verdict, Outcome) and verdict.status_code == 502 and _code(verdict) == "missing_result"


def test_a_member_missing_after_a_cancel_is_unfinished() -> None:
    verdict = missing_verdict(status=BatchStatus.CANCELLED, attempt=0, user_cancelled=False, retry_unfinished=1)
    assert verdict is RESUBMIT


def test_batch_level_failures_are_400_for_input_and_502_for_system() -> None:
    def verdict(errors: list[dict[str, object]]) -> Outcome:
        found = failed_batch_verdict(blame_lines(errors, line_count=2), line_no=0, attempt=0, max_resubmits=3)
        assert isinstance(found, Outcome)
        return found

    model = [{"code": "model_not_found", "message": "no such model", "param": "body.model", "line": None}]
    assert verdict(model).status_code == 400
    empty = [{"code": "empty_file", "message": "empty", "param": None, "line": None}]
    assert verdict(empty).status_code == 502
    no_file = [{"code": "invalid_request", "message": "Cannot find file", "param": "file_id", "line": None}]
    assert verdict(no_file).status_code == 502
    assert _code(verdict([])) == "batch_failed"


def test_token_limit_resubmits_then_answers_429() -> None:
    errors = [{"code": "token_limit_exceeded", "message": "Enqueued token limit reached", "line": None}]
    assert is_token_limit(errors)
    assert token_limit_verdict(attempt=2, max_resubmits=3, message="m") is RESUBMIT
    final = token_limit_verdict(attempt=3, max_resubmits=3, message="Enqueued token limit reached")
    assert isinstance(final, Outcome) and final.status_code == 429 and _code(final) == "token_limit_exceeded"
