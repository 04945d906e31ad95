"""OpenAPI descriptions of the bodies the POST routes read themselves (kept raw so nothing is altered)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ANTHROPIC_ERROR_RESPONSES",
    "CHAT_REQUEST",
    "TEXT_RESPONSE",
    "COMPLETIONS_REQUEST",
    "EMBEDDINGS_REQUEST",
    "ERROR_RESPONSES",
    "MESSAGES_REQUEST",
    "MODERATIONS_REQUEST",
    "RESPONSES_REQUEST",
    "RESULT_ERROR",
    "ok_response",
    "pending_response",
]

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
            "required": ["message", "type", "param", "code"],
        }
    },
    "required": ["error"],
}


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


# Exactly what ingress.http.validation accepts: everything else is the upstream's to judge (and passed on).
_TEXT_OR_ARRAY: dict[str, Any] = {"oneOf": [{"type": "string"}, {"type": "array", "minItems": 1}]}
_MODEL: dict[str, Any] = {"type": "string", "pattern": "\\S", "description": "Not empty nor only spaces."}
_STREAM_FIELDS: dict[str, Any] = {
    "stream": {"type": ["boolean", "null"]},
    "stream_options": {"type": ["object", "null"]},
}
_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["role"],
    "additionalProperties": True,
    "properties": {"role": {"type": "string"}},
}

CHAT_REQUEST = _body(
    {
        "type": "object",
        "required": ["model", "messages"],
        "additionalProperties": True,
        "properties": {
            "model": _MODEL,
            "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
            **_STREAM_FIELDS,
        },
    },
    "OpenAI's chat completion request, passed to the Batch API unchanged (stream fields aside).",
)

EMBEDDINGS_REQUEST = _body(
    {
        "type": "object",
        "required": ["model", "input"],
        "additionalProperties": True,
        "properties": {
            "model": _MODEL,
            "input": _TEXT_OR_ARRAY,
        },
    },
    "OpenAI's embeddings request, passed to the Batch API unchanged.",
)

RESPONSES_REQUEST = _body(
    {
        "type": "object",
        "required": ["model", "input"],
        "additionalProperties": True,
        "properties": {"model": _MODEL, "input": _TEXT_OR_ARRAY, "stream": _STREAM_FIELDS["stream"]},
    },
    "OpenAI's Responses API request, passed to the Batch API unchanged (stream aside).",
)

COMPLETIONS_REQUEST = _body(
    {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": True,
        "properties": {"model": _MODEL, "prompt": _TEXT_OR_ARRAY, **_STREAM_FIELDS},
    },
    "OpenAI's (legacy) completions request, passed to the Batch API unchanged (stream fields aside).",
)

MODERATIONS_REQUEST = _body(
    {
        "type": "object",
        "required": ["input"],
        "additionalProperties": True,
        "properties": {"model": _MODEL, "input": _TEXT_OR_ARRAY},
    },
    "OpenAI's moderations request, passed to the Batch API unchanged; without `model` the upstream's default "
    "moderation model answers (batch-gpt fills nothing in).",
)

MESSAGES_REQUEST = _body(
    {
        "type": "object",
        "required": ["model", "max_tokens", "messages"],
        "additionalProperties": True,
        "properties": {
            "model": _MODEL,
            "max_tokens": {"type": "integer", "minimum": 1},
            "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
            "stream": _STREAM_FIELDS["stream"],
        },
    },
    "Anthropic's Messages API request, passed to Message Batches unchanged (stream aside).",
)

_PENDING_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "batchgpt.request"},
        "status": {"enum": ["queued", "submitted", "in_progress"]},
        "created": {"type": "integer"},
    },
}


def pending_response(fetch_operation_id: str | None = None) -> dict[int | str, dict[str, Any]]:
    """The 202 of a POST or a fetch; a POST's names the fetch of its request (an OpenAPI link)."""
    pending: dict[str, Any] = {
        "description": "Not finished yet: the request id and state; fetch the result at `Location`.",
        "headers": {"Location": {"schema": {"type": "string"}}, "Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": _PENDING_BODY}},
    }
    if fetch_operation_id is not None:
        pending["links"] = {
            "result": {"operationId": fetch_operation_id, "parameters": {"request_id": "$response.body#/id"}}
        }
    return {202: pending}


def ok_response(description: str, *, streams: bool) -> dict[int | str, dict[str, Any]]:
    """The 200 of an endpoint's POST or fetch: the upstream's JSON object, or server-sent events when it streams."""
    content: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}
    if streams:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    return {200: {"description": description, "content": content}}


TEXT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
    for status, text in {
        400: "Bad input (param names the field).",
        401: "Missing or wrong API key.",
        404: "Unknown id, or another caller's.",
        405: "Wrong method for this path.",
        409: "Conflicting state.",
        413: "Body larger than BATCHGPT_MAX_BODY_BYTES.",
        429: "Too many pending requests for this key (Retry-After).",
        503: "Kafka unavailable or shutting down (Retry-After); nothing accepted.",
        504: "The wait limit passed before the result (`result_pending`; x-should-retry, Retry-After, Location): "
        "the SDK's retry re-attaches to the request at no cost.",
    }.items()
}

_ANTHROPIC_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            "required": ["type", "message"],
        },
    },
    "required": ["type", "error"],
}

ANTHROPIC_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {**answer, "content": {"application/json": {"schema": _ANTHROPIC_ERROR_SCHEMA}}}
    for status, answer in ERROR_RESPONSES.items()
} | {
    "default": {
        "description": "The request failed upstream: Anthropic's error body, with the status its type means.",
        "content": {"application/json": {"schema": _ANTHROPIC_ERROR_SCHEMA}},
    }
}
"""The error answers of ``/v1/messages``: the same cases, in Anthropic's error body."""

RESULT_ERROR: dict[int | str, dict[str, Any]] = {
    "default": {
        "description": "The request failed upstream: the upstream's status and error, as its batch line had them.",
        "content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}},
    }
}
