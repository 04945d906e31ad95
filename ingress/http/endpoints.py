"""The endpoint table: which POST endpoints exist, how their bodies are checked, where a request is fetched.

Both the fast ASGI path and the FastAPI routes (kept for the OpenAPI document) are made from this
table, so an endpoint is declared once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingress.http import streaming
from ingress.http.openapi_bodies import (
    ANTHROPIC_ERROR_RESPONSES,
    CHAT_REQUEST,
    COMPLETIONS_REQUEST,
    EMBEDDINGS_REQUEST,
    ERROR_RESPONSES,
    MESSAGES_REQUEST,
    MODERATIONS_REQUEST,
    RESPONSES_REQUEST,
    RESULT_ERROR,
)
from ingress.http.validation import (
    validate_chat,
    validate_completions,
    validate_embeddings,
    validate_messages,
    validate_moderations,
    validate_responses,
)
from schemas.status import Endpoint

__all__ = [
    "BY_PATH",
    "CHAT",
    "COMPLETIONS",
    "EMBEDDINGS",
    "ENDPOINTS",
    "MESSAGES",
    "MODERATIONS",
    "RESPONSES",
    "EndpointSpec",
    "fetch_path",
    "fetched_id",
]

_OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {**ERROR_RESPONSES, **RESULT_ERROR}


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One endpoint (OpenAI's, or Anthropic's messages): ``POST {path}`` creates, ``GET {path}/{request_id}``
    fetches; ``error_responses`` are its error answers in the OpenAPI document (in its provider's error body)."""

    endpoint: Endpoint
    name: str  # route names: create_{name}, get_{name}
    validate: Callable[[dict[str, Any]], None]  # raises InvalidRequest
    summary: str
    fetch_summary: str
    ok_description: str
    request_body: dict[str, Any]  # OpenAPI ``requestBody``
    error_responses: dict[int | str, dict[str, Any]] = field(default_factory=lambda: _OPENAI_ERRORS)

    @property
    def path(self) -> str:
        return self.endpoint.value

    @property
    def streams(self) -> bool:
        """Whether ``stream: true`` is answered with server-sent events."""
        return streaming.streams(self.endpoint)

    @property
    def fetch_prefix(self) -> str:
        """``{path}/``: a GET below it names a request id."""
        return self.endpoint.value + "/"


CHAT = EndpointSpec(
    endpoint=Endpoint.CHAT_COMPLETIONS,
    name="chat_completion",
    validate=validate_chat,
    summary="Create a chat completion (answered at Batch API prices)",
    fetch_summary="Fetch a request's result by id",
    ok_description="The ChatCompletion, or `text/event-stream` chunks when `stream` is true.",
    request_body=CHAT_REQUEST,
)
EMBEDDINGS = EndpointSpec(
    endpoint=Endpoint.EMBEDDINGS,
    name="embeddings",
    validate=validate_embeddings,
    summary="Create embeddings (answered at Batch API prices)",
    fetch_summary="Fetch an embeddings request's result by id",
    ok_description="The embeddings list.",
    request_body=EMBEDDINGS_REQUEST,
)

RESPONSES = EndpointSpec(
    endpoint=Endpoint.RESPONSES,
    name="response",
    validate=validate_responses,
    summary="Create a model response (Responses API, answered at Batch API prices)",
    fetch_summary="Fetch a Responses API request's result by id",
    ok_description="The Response, or `text/event-stream` Responses events when `stream` is true.",
    request_body=RESPONSES_REQUEST,
)
COMPLETIONS = EndpointSpec(
    endpoint=Endpoint.COMPLETIONS,
    name="completion",
    validate=validate_completions,
    summary="Create a (legacy) completion (answered at Batch API prices)",
    fetch_summary="Fetch a completions request's result by id",
    ok_description="The Completion, or `text/event-stream` `text_completion` chunks when `stream` is true.",
    request_body=COMPLETIONS_REQUEST,
)
MODERATIONS = EndpointSpec(
    endpoint=Endpoint.MODERATIONS,
    name="moderation",
    validate=validate_moderations,
    summary="Classify inputs for moderation (answered at Batch API prices)",
    fetch_summary="Fetch a moderations request's result by id",
    ok_description="The moderation results.",
    request_body=MODERATIONS_REQUEST,
)

MESSAGES = EndpointSpec(
    endpoint=Endpoint.MESSAGES,
    name="message",
    validate=validate_messages,
    summary="Create a message (Anthropic's Messages API, answered at Message Batches prices)",
    fetch_summary="Fetch an Anthropic messages request's result by id",
    ok_description="The Message, or `text/event-stream` Messages events when `stream` is true.",
    request_body=MESSAGES_REQUEST,
    error_responses=ANTHROPIC_ERROR_RESPONSES,
)

ENDPOINTS: tuple[EndpointSpec, ...] = (CHAT, EMBEDDINGS, RESPONSES, COMPLETIONS, MODERATIONS, MESSAGES)
BY_PATH: dict[str, EndpointSpec] = {spec.path: spec for spec in ENDPOINTS}


def fetched_id(path: str) -> str | None:
    """The request id of ``GET {endpoint}/{request_id}`` (None when ``path`` is not one)."""
    for spec in ENDPOINTS:
        prefix = spec.fetch_prefix
        if path.startswith(prefix):
            request_id = path[len(prefix) :]
            return request_id if request_id and "/" not in request_id else None
    return None


def fetch_path(endpoint: str, request_id: str) -> str:
    """Where a request's result is fetched (the chat path for an endpoint not in the table)."""
    spec = BY_PATH.get(endpoint, CHAT)
    return spec.fetch_prefix + request_id
