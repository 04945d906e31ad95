"""Batch input validation: a pure function from the JSONL bytes to the requests or every line's error.

One ``errors.data`` entry per offending line, all of them (one bad line fails the whole batch and no
request runs). Codes follow what the real service reports: ``empty_file``, ``too_many_tasks``,
``invalid_json_line``, ``missing_required_parameter``, ``invalid_url``, ``streaming_unsupported``,
``invalid_request`` (missing model or the endpoint's main field: messages, input or prompt; bad method
or body), ``model_not_found``, ``duplicate_custom_id`` and ``model_mismatch``, and the code a line's
``[sim:invalid=code]`` marker names. Per-request problems the model itself would reject (say a bad
``temperature``) are *not* checked here: they run and come back as 4xx lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from batchgpt.simulator.endpoints import (
    CHAT_ENDPOINT,
    COMPLETIONS_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    MODERATIONS_ENDPOINT,
    RESPONSES_ENDPOINT,
)
from batchgpt.simulator.markers import markers_of
from batchgpt.simulator.request_text import embedding_inputs

__all__ = ["BatchLine", "ValidationResult", "validate_batch_input"]

MAX_EMBEDDING_INPUTS = 50_000
_API_NAMES = {
    CHAT_ENDPOINT: "Chat Completions",
    RESPONSES_ENDPOINT: "Responses",
    COMPLETIONS_ENDPOINT: "Completions",
    EMBEDDINGS_ENDPOINT: "Embeddings",
    MODERATIONS_ENDPOINT: "Moderations",
}
_MAIN_FIELDS = {
    RESPONSES_ENDPOINT: "input",
    COMPLETIONS_ENDPOINT: "prompt",
    EMBEDDINGS_ENDPOINT: "input",
    MODERATIONS_ENDPOINT: "input",
}
"""The field each endpoint's body must have (chat: ``messages``)."""


@dataclass(frozen=True)
class BatchLine:
    """One valid request of a batch input file."""

    line: int
    custom_id: str
    body: dict[str, object]


@dataclass
class ValidationResult:
    """What validation found: the requests when ``errors`` is empty, else the errors (``errors.data``)."""

    lines: list[BatchLine] = field(default_factory=list)
    errors: list[dict[str, object]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    custom_ids: list[str] = field(default_factory=list)
    line_count: int = 0

    @property
    def model(self) -> str | None:
        """The batch's model: the first one named."""
        return self.models[0] if self.models else None


def _error(code: str, message: str, *, line: int | None, param: str | None = None) -> dict[str, object]:
    return {"code": code, "message": message, "param": param, "line": line}


def _missing(name: str, line: int) -> dict[str, object]:
    return _error(
        "missing_required_parameter", f"Missing required parameter: '{name}'.", line=line, param=name
    )


def _check_line(
    number: int, raw: str, endpoint: str, model_known: Callable[[str], bool]
) -> tuple[dict[str, object] | None, dict[str, object] | None]:
    """(parsed line, None) when the line is well formed, else (parsed or None, error)."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return None, _error("invalid_json_line", "This line is not parseable as valid JSON.", line=number)
    for name in ("custom_id", "method", "url", "body"):
        if name not in parsed or parsed[name] is None:
            return parsed, _missing(name, number)
    if not isinstance(parsed["custom_id"], str) or not parsed["custom_id"]:
        return parsed, _error(
            "invalid_request", "The custom_id must be a non-empty string.", line=number, param="custom_id"
        )
    if parsed["method"] != "POST":
        return parsed, _error(
            "invalid_request",
            "Only the POST method is supported for batch requests.",
            line=number,
            param="method",
        )
    if parsed["url"] != endpoint:
        return parsed, _error(
            "invalid_url",
            "The URL provided for this request does not match the batch endpoint.",
            line=number,
            param="url",
        )
    body = parsed["body"]
    if not isinstance(body, dict):
        return parsed, _error("invalid_request", "The body must be a JSON object.", line=number, param="body")
    if body.get("stream") is True:
        return parsed, _error(
            "streaming_unsupported",
            f"{_API_NAMES.get(endpoint, 'Chat Completions')}: Streaming is not supported in the Batch API.",
            line=number,
            param="body.stream",
        )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return parsed, _error(
            "invalid_request", "Model parameter is required.", line=number, param="body.model"
        )
    main = _MAIN_FIELDS.get(endpoint, "messages")
    if body.get(main) is None:
        return parsed, _error(
            "invalid_request", f"{main.capitalize()} parameter is required.", line=number, param=f"body.{main}"
        )
    if not model_known(model):
        return parsed, _error(
            "model_not_found",
            f"The provided model '{model}' is not supported by the Batch API.",
            line=number,
            param="body.model",
        )
    invalid_code = markers_of(endpoint, body).invalid_code
    if invalid_code is not None:
        return parsed, _error(
            invalid_code, "This request is invalid (a [sim:invalid] marker).", line=number, param="body"
        )
    return parsed, None


def validate_batch_input(
    data: bytes,
    *,
    endpoint: str,
    model_known: Callable[[str], bool],
    max_lines: int,
    max_embedding_inputs: int = MAX_EMBEDDING_INPUTS,
) -> ValidationResult:
    """Validate a batch input file for ``endpoint``; collect every line's error."""
    text = data.decode("utf-8", errors="replace")
    numbered = [(i + 1, raw.rstrip("\r")) for i, raw in enumerate(text.split("\n"))]
    numbered = [(n, raw) for n, raw in numbered if raw.strip()]
    result = ValidationResult(line_count=len(numbered))
    if not numbered:
        result.errors.append(
            _error(
                "empty_file",
                "The input file is empty. Please ensure that the batch contains at least one request.",
                line=None,
            )
        )
        return result
    if len(numbered) > max_lines:
        result.errors.append(
            _error(
                "too_many_tasks",
                f"The batch input file contains {len(numbered)} requests; "
                f"the limit is {max_lines} per batch.",
                line=None,
            )
        )
        return result
    seen: set[str] = set()
    inputs = 0
    for number, raw in numbered:
        parsed, error = _check_line(number, raw, endpoint, model_known)
        if parsed is not None:
            custom_id = parsed.get("custom_id")
            if isinstance(custom_id, str):
                result.custom_ids.append(custom_id)
            body = parsed.get("body")
            if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
                if body["model"] not in result.models:
                    result.models.append(body["model"])
        if error is None:
            assert parsed is not None
            error = _cross_line_error(parsed, number, seen, result.models)
        if error is not None:
            result.errors.append(error)
            continue
        assert parsed is not None
        custom_id, body = str(parsed["custom_id"]), parsed["body"]
        assert isinstance(body, dict)  # checked by _parse_line
        seen.add(custom_id)
        if endpoint == EMBEDDINGS_ENDPOINT:
            inputs += len(embedding_inputs(body))
        result.lines.append(BatchLine(line=number, custom_id=custom_id, body=body))
    if inputs > max_embedding_inputs:
        result.errors.append(
            _error(
                "too_many_tasks",
                f"The batch contains {inputs} embedding inputs; "
                f"the limit is {max_embedding_inputs} per batch.",
                line=None,
            )
        )
    if result.errors:
        result.lines = []
    return result


def _cross_line_error(
    parsed: dict[str, object], number: int, seen: set[str], models: list[str]
) -> dict[str, object] | None:
    custom_id = parsed["custom_id"]
    if custom_id in seen:
        return _error(
            "duplicate_custom_id",
            "The custom_id for this request is a duplicate of another request. "
            "The custom_id parameter must be unique for each request in a batch.",
            line=number,
            param="custom_id",
        )
    body = parsed["body"]
    assert isinstance(body, dict)
    if models and body["model"] != models[0]:
        return _error(
            "model_mismatch",
            "All requests in a batch must use the same model: "
            f"expected '{models[0]}', got '{body['model']}'.",
            line=number,
            param="body.model",
        )
    return None
