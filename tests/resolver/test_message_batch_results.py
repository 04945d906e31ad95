"""Anthropic Message Batches result lines -> replies, and an Anthropic batch's failures in Anthropic's body."""

from __future__ import annotations

import json

import pytest
from anthropic.types import Message
from anthropic.types.messages import MessageBatchIndividualResponse

from resolver.results import error_outcome, in_provider_shape, line_outcome, line_usage, parse_line
from resolver.verdicts import RESUBMIT, unfinished_verdict
from schemas import BatchStatus, ReplyStatus

MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-test-model",
    "content": [{"type": "text", "text": "hello", "citations": None}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 11, "output_tokens": 4},
}


def _line(result: dict[str, object], custom_id: str = "req_1", *, sdk_type: bool = True) -> str:
    raw = {"custom_id": custom_id, "result": result}
    if sdk_type:  # the shape the anthropic SDK reads from /results (its error types lack request_too_large)
        MessageBatchIndividualResponse.model_validate(raw)
    return json.dumps(raw)


def test_a_succeeded_line_is_the_message_exactly() -> None:
    line = parse_line(_line({"type": "succeeded", "message": MESSAGE}))
    assert line is not None
    outcome = line_outcome(line)
    assert (outcome.status, outcome.status_code, outcome.body) == (ReplyStatus.COMPLETED, 200, MESSAGE)
    Message.model_validate(outcome.body)
    assert line_usage(line) == (11, 4)


@pytest.mark.parametrize(
    ("error_type", "status"),
    [
        ("invalid_request_error", 400),
        ("authentication_error", 401),
        ("permission_error", 403),
        ("not_found_error", 404),
        ("request_too_large", 413),
        ("rate_limit_error", 429),
        ("api_error", 500),
        ("overloaded_error", 529),
    ],
)
def test_an_errored_line_keeps_anthropics_body_with_the_status_its_type_means(error_type: str, status: int) -> None:
    error = {"type": "error", "error": {"type": error_type, "message": "no"}, "request_id": "req_011"}
    line = parse_line(_line({"type": "errored", "error": error}, sdk_type=error_type != "request_too_large"))
    assert line is not None
    outcome = line_outcome(line)
    assert (outcome.status, outcome.status_code, outcome.body) == (ReplyStatus.FAILED, status, error)
    assert outcome.upstream_request_id == "req_011"


@pytest.mark.parametrize(("kind", "ended_as"), [("canceled", BatchStatus.CANCELLED), ("expired", BatchStatus.EXPIRED)])
def test_canceled_and_expired_lines_never_ran_whatever_the_batch_status(kind: str, ended_as: BatchStatus) -> None:
    line = parse_line(_line({"type": kind}))
    assert line is not None and line.unfinished and line.per_line_outcome and line.unfinished_as is ended_as
    assert unfinished_verdict(status=ended_as, attempt=0, user_cancelled=False, retry_unfinished=1) is RESUBMIT
    spent = unfinished_verdict(status=ended_as, attempt=1, user_cancelled=False, retry_unfinished=1)
    assert spent is not RESUBMIT and spent.status_code == (409 if kind == "canceled" else 504)


def test_an_anthropic_batchs_failures_are_answered_in_anthropics_error_body() -> None:
    outcome = error_outcome("The upstream batch finished without a result.", code="missing_result", status_code=502)
    shaped = in_provider_shape(outcome, "anthropic")
    assert shaped.status_code == 502
    assert shaped.body == {
        "type": "error",
        "error": {"type": "api_error", "message": "The upstream batch finished without a result."},
    }
    assert in_provider_shape(outcome, "openai") is outcome
    expired = in_provider_shape(error_outcome("late", code="batch_expired"), "anthropic")
    assert (expired.status_code, expired.body["error"]["type"]) == (504, "timeout_error")
    already = line_outcome(
        parse_line(
            _line({"type": "errored", "error": {"type": "error", "error": {"type": "api_error", "message": "x"}}})
        )
        or pytest.fail("no line")
    )
    assert in_provider_shape(already, "anthropic") == already
