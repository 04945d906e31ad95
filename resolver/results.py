"""Pure mapping from batch result lines and batch outcomes to the reply each caller gets.

Every failed reply's body is OpenAI's envelope ``{"error": {"message", "type", "param", "code"}}``;
``type`` is ``invalid_request_error`` for 4xx, ``tokens`` for 429 and ``server_error`` for 5xx, unless the line
carries its own envelope (kept as is).

Status codes (``status_code`` of the reply, i.e. what ingress answers the caller):

==========================================  ======  ===========================================
outcome                                     status  code
==========================================  ======  ===========================================
line with a 2xx ``response``                2xx     (the completion, ``status: completed``)
line with a non-2xx ``response``            as-is   the line's own ``response.body.error``
error line ``batch_expired`` (no retry)     504     ``batch_expired``
error line / unfinished ``batch_cancelled`` 409     ``batch_cancelled``
error line ``batch_failed``                 502     ``batch_failed``
other error line (``response: null``)       502     the line's ``error.code``
validation failure naming the member line   400     that line's ``errors.data`` code
validation failure, batch-level, input      400     the batch error's code (model_not_found ...)
validation failure, batch-level, system     502     the batch error's code (empty_file ...)
validation failure naming other lines only  —       resubmitted (:mod:`resolver.isolation`), then:
... resubmissions spent                     502     ``batch_failed`` (the first error quoted)
failed batch without ``errors``             502     ``batch_failed``
``token_limit_exceeded`` after the retries  429     ``token_limit_exceeded``
member in neither file (completed batch)    502     ``missing_result``
upstream batch unknown (three 404s)         502     ``batch_not_found``
==========================================  ======  ===========================================

An Anthropic Message Batches result line (``{"custom_id", "result": {"type", …}}``) maps onto the same
verdicts: ``succeeded`` is a 200 with the ``message``; ``errored`` carries Anthropic's error body, answered
with the status its type means (``invalid_request_error`` 400 … ``overloaded_error`` 529); ``canceled`` and
``expired`` never ran, like OpenAI's ``batch_cancelled`` / ``batch_expired`` lines (resubmitted, then 409 /
504). Every failed outcome of an Anthropic batch is answered in Anthropic's error body
(:func:`in_provider_shape`).

``errors.data[].line`` is **1-based** (the physical line number in the input file, as OpenAI and the
simulator report it); ``batch_members.line_no`` is 0-based, so a member's line is ``line_no + 1``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from batchgpt.usage import usage_of
from resolver.errors import ResultLineError
from schemas import BatchStatus, ReplyStatus
from schemas.anthropic_errors import as_anthropic_error, is_anthropic_error, status_for_error_type
from schemas.status import Provider

__all__ = [
    "INPUT_ERROR_CODES",
    "UNFINISHED_CODES",
    "LineResult",
    "Outcome",
    "error_envelope",
    "error_outcome",
    "in_provider_shape",
    "line_outcome",
    "line_usage",
    "parse_line",
    "status_for_error_code",
]

UNFINISHED_CODES = frozenset({"batch_expired", "batch_cancelled"})
"""Error-line codes meaning the line never ran."""

INPUT_ERROR_CODES = frozenset(
    {
        "invalid_json_line",
        "missing_required_parameter",
        "invalid_url",
        "streaming_unsupported",
        "model_not_found",
        "invalid_request",
        "duplicate_custom_id",
        "model_mismatch",
    }
)
"""Validation codes that blame the request's content (400); other batch-level codes are system failures (502)."""

_MAX_REQUEST_ID = 128
"""Longest provider request id kept (the ``results`` column's width)."""

_CODE_STATUS = {
    "batch_expired": 504,
    "batch_cancelled": 409,
    "batch_failed": 502,
    "missing_result": 502,
    "token_limit_exceeded": 429,
}


@dataclass(frozen=True)
class Outcome:
    """The reply one caller gets: status, HTTP status code and body (completion or error envelope)."""

    status: ReplyStatus
    status_code: int
    body: dict[str, Any]
    upstream_request_id: str | None = None
    """The provider's request id of the line that ran (its ``response.request_id``), when there is one."""

    @property
    def ok(self) -> bool:
        """Whether this is a completion."""
        return self.status is ReplyStatus.COMPLETED


@dataclass(frozen=True)
class LineResult:
    """One parsed line of an output or error file."""

    custom_id: str
    status_code: int | None
    body: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    request_id: str | None = None
    """``response.request_id``: the provider's id of the request the line ran as."""
    per_line_outcome: bool = False
    """Whether the line says itself how it ended (Anthropic's ``result.type``), whatever the batch's status."""

    @property
    def unfinished(self) -> bool:
        """Whether the line never ran (expired or cancelled before it was processed)."""
        return self.status_code is None and self.error_code in UNFINISHED_CODES

    @property
    def unfinished_as(self) -> BatchStatus:
        """How an unfinished line ended, as a batch status (cancelled or expired)."""
        return BatchStatus.CANCELLED if self.error_code == "batch_cancelled" else BatchStatus.EXPIRED


_UNFINISHED_RESULTS = {"canceled": "batch_cancelled", "expired": "batch_expired"}


def _message_batch_line(custom_id: str, result: dict[str, Any]) -> LineResult:
    """One Anthropic Message Batches result: succeeded, errored, canceled or expired."""
    kind = result.get("type")
    message = result.get("message")
    if kind == "succeeded" and isinstance(message, dict):
        return LineResult(custom_id, 200, message, None, None, per_line_outcome=True)
    if kind == "errored":
        error = result.get("error")
        body = as_anthropic_error(500, error, default_message="The request failed upstream.")
        request_id = body.get("request_id")
        return LineResult(
            custom_id,
            status_for_error_type(body["error"].get("type")),
            body,
            None,
            None,
            request_id[:_MAX_REQUEST_ID] if isinstance(request_id, str) and request_id else None,
            per_line_outcome=True,
        )
    code = _UNFINISHED_RESULTS.get(str(kind), "batch_failed")
    return LineResult(custom_id, None, None, code, None, per_line_outcome=True)


def parse_line(raw: str | bytes) -> LineResult | None:
    """Parse one JSONL result line; ``None`` for a blank line.

    :raises ResultLineError: the line is not a JSON object with a string ``custom_id``.
    """
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ResultLineError(f"result line is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str):
        raise ResultLineError("result line has no custom_id")
    if isinstance(data.get("result"), dict):
        return _message_batch_line(data["custom_id"], data["result"])
    response = data.get("response")
    error = data.get("error")
    status_code = body = request_id = None
    if isinstance(response, dict) and isinstance(response.get("request_id"), str) and response["request_id"]:
        request_id = response["request_id"][:_MAX_REQUEST_ID]
    if isinstance(response, dict) and isinstance(response.get("status_code"), int):
        status_code = int(response["status_code"])
        raw_body = response.get("body")
        if isinstance(raw_body, str):  # some gateways serialise the body as a string
            try:
                raw_body = json.loads(raw_body)
            except ValueError:
                raw_body = {"raw": raw_body}
        body = raw_body if isinstance(raw_body, dict) else {}
    error_code = error_message = None
    if isinstance(error, dict):
        error_code = str(error["code"]) if error.get("code") is not None else None
        error_message = str(error["message"]) if error.get("message") is not None else None
    return LineResult(data["custom_id"], status_code, body, error_code, error_message, request_id)


def status_for_error_code(code: str | None) -> int:
    """HTTP status for a batch-level or never-ran error code (502 when unknown)."""
    return _CODE_STATUS.get(code or "", 502)


def error_envelope(message: str, *, code: str | None, status_code: int, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope with a ``type`` matching the status."""
    kind = "server_error" if status_code >= 500 else "invalid_request_error"
    if status_code == 429:
        kind = "tokens"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_outcome(
    message: str, *, code: str | None, status_code: int | None = None, param: str | None = None
) -> Outcome:
    """A failed outcome with an envelope; the status defaults to the code's mapping."""
    status = status_code if status_code is not None else status_for_error_code(code)
    return Outcome(ReplyStatus.FAILED, status, error_envelope(message, code=code, status_code=status, param=param))


def line_outcome(line: LineResult) -> Outcome:
    """The reply for a line that ran (2xx or not) or an error line; unfinished lines are the caller's call."""
    if line.status_code is not None:
        body = line.body or {}
        if 200 <= line.status_code < 300:
            return Outcome(ReplyStatus.COMPLETED, line.status_code, body, line.request_id)
        if not isinstance(body.get("error"), dict):
            body = error_envelope(
                f"The upstream request failed with HTTP {line.status_code}.", code=None, status_code=line.status_code
            )
        return Outcome(ReplyStatus.FAILED, line.status_code, body, line.request_id)
    code = line.error_code or "batch_failed"
    message = line.error_message or f"The request failed upstream ({code})."
    return error_outcome(message, code=code)


def in_provider_shape(outcome: Outcome, provider: str) -> Outcome:
    """``outcome`` as the batch's provider answers it: a failure of an Anthropic batch in Anthropic's error body
    (its message and status kept), anything else unchanged."""
    if provider != Provider.ANTHROPIC or outcome.ok or is_anthropic_error(outcome.body):
        return outcome
    return replace(outcome, body=as_anthropic_error(outcome.status_code, outcome.body))


def line_usage(line: LineResult) -> tuple[int, int]:
    """(input, output) tokens a successful line reports in ``response.body.usage`` (0, 0 otherwise)."""
    if line.status_code is None or not 200 <= line.status_code < 300:
        return 0, 0
    used = usage_of(None, line.body)
    return (used.input_tokens, used.output_tokens) if used is not None else (0, 0)
