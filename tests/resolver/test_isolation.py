"""Validation isolation without a broker: mapping ``errors.data`` lines (1-based) onto members (0-based
``line_no``), and what each member of a batch failed by some of its lines gets."""

from __future__ import annotations

from typing import Any

from resolver.isolation import blame_lines
from resolver.results import Outcome
from resolver.verdicts import RESUBMIT, failed_batch_verdict


def _entry(line: int | None, code: str = "invalid_request", param: str | None = "body.messages") -> dict[str, Any]:
    return {"code": code, "message": f"bad line {line}", "param": param, "line": line}


def test_lines_are_one_based_and_map_to_zero_based_members() -> None:
    blame = blame_lines([_entry(2), _entry(5)], line_count=5)
    assert set(blame.by_line) == {1, 4}
    assert blame.entry_for(1) == _entry(2)
    assert blame.entry_for(4) == _entry(5)
    assert blame.entry_for(0) is None
    assert blame.isolating


def test_the_first_entry_naming_a_line_is_that_line_s_error() -> None:
    first, second = _entry(1, code="invalid_url", param="url"), _entry(1, code="model_not_found")
    blame = blame_lines([first, second], line_count=3)
    assert blame.entry_for(0) == first


def test_a_failure_blaming_every_line_does_not_isolate() -> None:
    blame = blame_lines([_entry(n, code="model_not_found", param="body.model") for n in (1, 2, 3)], line_count=3)
    assert not blame.isolating and len(blame.by_line) == 3


def test_an_entry_without_a_line_concerns_the_whole_batch() -> None:
    assert not blame_lines([_entry(None, code="empty_file", param=None)], line_count=3).isolating
    mixed = blame_lines([_entry(2), _entry(None, code="too_many_tasks", param=None)], line_count=3)
    assert not mixed.isolating and set(mixed.by_line) == {1}


def test_a_line_number_the_batch_does_not_have_concerns_the_whole_batch() -> None:
    for line in (0, 4, -1):
        blame = blame_lines([_entry(2), _entry(line)], line_count=3)
        assert not blame.isolating, line
    assert not blame_lines([{"code": "x", "message": "m", "line": True}], line_count=3).isolating
    assert not blame_lines([], line_count=3).isolating


def test_the_blamed_member_gets_its_own_error_and_the_others_are_resubmitted() -> None:
    blame = blame_lines([_entry(2)], line_count=3)
    own = failed_batch_verdict(blame, line_no=1, attempt=0, max_resubmits=3)
    assert isinstance(own, Outcome) and own.status_code == 400
    assert own.body["error"] == {
        "message": "bad line 2",
        "type": "invalid_request_error",
        "param": "body.messages",
        "code": "invalid_request",
    }
    for line_no in (0, 2):
        assert failed_batch_verdict(blame, line_no=line_no, attempt=0, max_resubmits=3) is RESUBMIT


def test_a_neighbour_whose_resubmissions_are_spent_gets_batch_failed() -> None:
    blame = blame_lines([_entry(2)], line_count=3)
    assert failed_batch_verdict(blame, line_no=0, attempt=2, max_resubmits=3) is RESUBMIT
    spent = failed_batch_verdict(blame, line_no=0, attempt=3, max_resubmits=3)
    assert isinstance(spent, Outcome) and spent.status_code == 502
    assert spent.body["error"]["code"] == "batch_failed"
    assert "line 2: bad line 2" in spent.body["error"]["message"]
    off = failed_batch_verdict(blame, line_no=0, attempt=0, max_resubmits=0)
    assert isinstance(off, Outcome) and off.status_code == 502


def test_a_batch_level_failure_answers_every_member_with_the_error() -> None:
    blame = blame_lines([_entry(None, code="model_not_found", param="body.model")], line_count=3)
    for line_no in range(3):
        verdict = failed_batch_verdict(blame, line_no=line_no, attempt=0, max_resubmits=3)
        assert isinstance(verdict, Outcome) and verdict.status_code == 400
        assert verdict.body["error"]["code"] == "model_not_found"


def test_with_a_whole_batch_entry_the_blamed_line_keeps_its_own_error_and_the_rest_get_the_batch_s() -> None:
    blame = blame_lines([_entry(1), _entry(None, code="too_many_tasks", param=None)], line_count=2)
    own = failed_batch_verdict(blame, line_no=0, attempt=0, max_resubmits=3)
    rest = failed_batch_verdict(blame, line_no=1, attempt=0, max_resubmits=3)
    assert isinstance(own, Outcome) and own.body["error"]["code"] == "invalid_request"
    assert isinstance(rest, Outcome) and rest.status_code == 502 and rest.body["error"]["code"] == "too_many_tasks"
