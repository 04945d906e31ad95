"""Result-line parsing and the line -> reply mapping, without a broker."""

from __future__ import annotations

import json

import pytest

from resolver.errors import ResultLineError
from resolver.results import error_envelope, line_outcome, line_usage, parse_line, status_for_error_code
from schemas import ReplyStatus

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
}


def _line(custom_id: str, response: object = None, error: object = None) -> str:
    return json.dumps({"id": "batch_req_1", "custom_id": custom_id, "response": response, "error": error})


def test_a_2xx_line_becomes_the_completion_unchanged() -> None:
    line = parse_line(_line("r1", {"status_code": 200, "request_id": "x", "body": COMPLETION}))
    assert line is not None
    outcome = line_outcome(line)
    assert outcome.status is ReplyStatus.COMPLETED
    assert outcome.status_code == 200
    assert outcome.body == COMPLETION
    assert line_usage(line) == (7, 3)


def test_a_non_2xx_line_keeps_its_status_and_openai_error_body() -> None:
    body = {"error": {"message": "bad", "type": "invalid_request_error", "param": "messages", "code": "x"}}
    line = parse_line(_line("r2", {"status_code": 422, "request_id": "x", "body": body}))
    assert line is not None
    outcome = line_outcome(line)
    assert (outcome.status, outcome.status_code, outcome.body) == (ReplyStatus.FAILED, 422, body)
    assert line_usage(line) == (0, 0)


def test_a_non_2xx_line_without_an_error_body_gets_an_envelope() -> None:
    line = parse_line(_line("r2", {"status_code": 503, "request_id": "x", "body": {}}))
    assert line is not None
    outcome = line_outcome(line)
    assert outcome.status_code == 503
    assert outcome.body["error"]["type"] == "server_error"


def test_a_body_serialised_as_a_string_is_decoded() -> None:
    line = parse_line(_line("r1", {"status_code": 200, "request_id": "x", "body": json.dumps(COMPLETION)}))
    assert line is not None and line.body == COMPLETION


@pytest.mark.parametrize(
    ("code", "status"),
    [("batch_expired", 504), ("batch_cancelled", 409), ("batch_failed", 502), ("something_new", 502)],
)
def test_error_lines_map_to_documented_statuses(code: str, status: int) -> None:
    line = parse_line(_line("r3", None, {"code": code, "message": "m"}))
    assert line is not None
    outcome = line_outcome(line)
    assert outcome.status is ReplyStatus.FAILED
    assert outcome.status_code == status == status_for_error_code(code)
    assert outcome.body == {
        "error": {"message": "m", "type": outcome.body["error"]["type"], "param": None, "code": code}
    }


def test_expired_and_cancelled_error_lines_are_unfinished_others_are_not() -> None:
    expired = parse_line(_line("a", None, {"code": "batch_expired", "message": "m"}))
    cancelled = parse_line(_line("b", None, {"code": "batch_cancelled", "message": "m"}))
    other = parse_line(_line("c", None, {"code": "batch_failed", "message": "m"}))
    assert expired is not None and expired.unfinished
    assert cancelled is not None and cancelled.unfinished
    assert other is not None and not other.unfinished


def test_blank_lines_are_skipped_and_garbage_is_a_typed_error() -> None:
    assert parse_line("  ") is None
    with pytest.raises(ResultLineError):
        parse_line("{not json")
    with pytest.raises(ResultLineError):
        parse_line(json.dumps({"response": None}))


def test_error_envelope_has_all_four_keys() -> None:
    assert error_envelope("m", code="c", status_code=400) == {
        "error": {"message": "m", "type": "invalid_request_error", "param": None, "code": "c"}
    }


def test_a_line_that_ran_carries_its_upstream_request_id_into_the_reply() -> None:
    ok = parse_line(_line("r1", {"status_code": 200, "request_id": "req_up_1", "body": COMPLETION}))
    failed = parse_line(_line("r2", {"status_code": 400, "request_id": "req_up_2", "body": {}}))
    never_ran = parse_line(_line("r3", None, {"code": "batch_expired", "message": "late"}))
    assert ok is not None and failed is not None and never_ran is not None
    assert line_outcome(ok).upstream_request_id == "req_up_1"
    assert line_outcome(failed).upstream_request_id == "req_up_2"
    assert line_outcome(never_ran).upstream_request_id is None
    long_id = parse_line(_line("r4", {"status_code": 200, "request_id": "x" * 300, "body": COMPLETION}))
    assert long_id is not None and long_id.request_id == "x" * 128
