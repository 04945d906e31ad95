"""Checks a request body before anything is produced: a JSON object with each endpoint's required fields.

Chat: ``model``, ``messages``; embeddings: ``model``, ``input``; responses: ``model``, ``input``;
completions: ``model``, ``prompt``; moderations: ``input`` (``model`` is optional there: OpenAI uses its
default moderation model, and batch-gpt fills nothing in; see :func:`schemas.messages.body_model`);
Anthropic's messages: ``model``, ``max_tokens`` (a positive integer), ``messages`` (each with a ``role``).

The body is otherwise passed through untouched (unknown fields kept). Errors name the offending
field in ``param``, the way OpenAI does.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import from_json

from ingress.errors import InvalidRequest

__all__ = [
    "parse_body",
    "validate_chat",
    "validate_completions",
    "validate_embeddings",
    "validate_messages",
    "validate_moderations",
    "validate_responses",
]


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode the raw body; it must be a JSON object."""
    if not raw.strip():
        raise InvalidRequest(
            "We could not parse the JSON body of your request: the body is empty. "
            "(HINT: the body must be a JSON object.)",
            reason="invalid_json",
        )
    try:  # pydantic's parser (several times faster); what it refuses, the standard parser decides as before
        body = from_json(raw)
    except ValueError:
        body = _parsed_slowly(raw)
    if not isinstance(body, dict):
        raise InvalidRequest(f"The request body must be a JSON object, not {_json_type(body)}.", code="invalid_type")
    return body


def _parsed_slowly(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(
            f"We could not parse the JSON body of your request ({exc}). (HINT: the body must be a JSON object.)",
            reason="invalid_json",
        ) from None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _missing(param: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _wrong_type(param: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _check_model(body: dict[str, Any], *, required: bool = True) -> None:
    if "model" not in body or body["model"] is None:
        if not required and "model" not in body:
            return
        raise _missing("model")
    if not isinstance(body["model"], str):
        raise _wrong_type("model", "a string", body["model"])
    if not body["model"].strip():
        raise InvalidRequest("Invalid value for 'model': it must not be empty.", param="model", code="invalid_value")


def _check_chat(body: dict[str, Any]) -> None:
    if "messages" not in body or body["messages"] is None:
        raise _missing("messages")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _wrong_type("messages", "an array", messages)
    if not messages:
        raise InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _wrong_type(f"messages[{index}]", "an object", message)
        if not isinstance(message.get("role"), str):
            raise (
                _missing(f"messages[{index}].role")
                if "role" not in message
                else _wrong_type(f"messages[{index}].role", "a string", message["role"])
            )
    _check_stream(body)


def _check_stream(body: dict[str, Any]) -> None:
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        raise _wrong_type("stream", "a boolean", body["stream"])
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _wrong_type("stream_options", "an object", options)


def _check_text_or_list(body: dict[str, Any], param: str) -> None:
    """``param`` is present and a string or a non-empty array (the SDKs' ``input`` / ``prompt`` unions)."""
    if param not in body or body[param] is None:
        raise _missing(param)
    value = body[param]
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise _wrong_type(param, "a string or an array", value)
    if not value:
        raise InvalidRequest(
            f"Invalid '{param}': empty array. Expected an array with minimum length 1.", param=param, code="empty_array"
        )


def validate_chat(body: dict[str, Any]) -> None:
    """Raise :class:`InvalidRequest` (with ``param``) when ``body`` is not a chat completions request."""
    _check_model(body)
    _check_chat(body)


def validate_embeddings(body: dict[str, Any]) -> None:
    """Raise :class:`InvalidRequest` (with ``param``) when ``body`` is not an embeddings request."""
    _check_model(body)
    _check_text_or_list(body, "input")


def validate_responses(body: dict[str, Any]) -> None:
    """Raise :class:`InvalidRequest` (with ``param``) when ``body`` is not a Responses API request."""
    _check_model(body)
    _check_text_or_list(body, "input")
    _check_stream(body)


def validate_completions(body: dict[str, Any]) -> None:
    """Raise :class:`InvalidRequest` (with ``param``) when ``body`` is not a (legacy) completions request."""
    _check_model(body)
    _check_text_or_list(body, "prompt")
    _check_stream(body)


def validate_moderations(body: dict[str, Any]) -> None:
    """Raise :class:`InvalidRequest` (with ``param``) when ``body`` is not a moderations request."""
    _check_model(body, required=False)
    _check_text_or_list(body, "input")


def validate_messages(body: dict[str, Any]) -> None:
    """Raise :class:`InvalidRequest` (with ``param``) when ``body`` is not an Anthropic Messages API request."""
    _check_model(body)
    if "max_tokens" not in body or body["max_tokens"] is None:
        raise _missing("max_tokens")
    max_tokens = body["max_tokens"]
    integral = isinstance(max_tokens, int) or (isinstance(max_tokens, float) and max_tokens.is_integer())
    if isinstance(max_tokens, bool) or not integral:  # 5.0 is an integer in JSON, as Anthropic reads it
        raise _wrong_type("max_tokens", "an integer", max_tokens)
    if max_tokens < 1:
        raise InvalidRequest(
            "Invalid value for 'max_tokens': it must be at least 1.", param="max_tokens", code="invalid_value"
        )
    _check_chat(body)
