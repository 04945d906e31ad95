"""The simulated model: a pure function from an endpoint and a request body to its response.

Answers are deterministic, so a test can compute what any caller must receive:

* chat: ``expected_chat_content(body)``; Responses: ``expected_response_text(body)``; completions:
  ``expected_completion_text(body)``: all derived from the request's text (a digest plus an excerpt);
* with ``tools``: ``expected_tool_call(endpoint, body)`` (``simulator.tool_calls``); with a JSON schema
  format: the schema's minimal instance (``simulator.schema_instances.minimal_instance``);
* embeddings: ``expected_embedding(text, dims)``; moderations: nothing flagged unless ``[sim:flag=...]``.

The same function answers the synchronous routes and every batch line; a bad body gets OpenAI's 400/404
(``simulator.request_checks``) and ``[sim:error=NNN]`` markers (``simulator.markers``) any HTTP error.
"""

from __future__ import annotations

from collections.abc import Callable

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.chat_answers import chat_completion, expected_chat_content
from batchgpt.simulator.completion_answers import expected_completion_text, text_completion
from batchgpt.simulator.embedding_answers import embedding_dimensions, embeddings_response, expected_embedding
from batchgpt.simulator.endpoints import (
    CHAT_ENDPOINT,
    COMPLETIONS_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    MODERATIONS_ENDPOINT,
    RESPONSES_ENDPOINT,
)
from batchgpt.simulator.errors import SimError, invalid_request, status_error
from batchgpt.simulator.ids import derived_base62, derived_hex
from batchgpt.simulator.markers import markers_of
from batchgpt.simulator.moderation_answers import moderation_response
from batchgpt.simulator.request_checks import DEFAULT_MODERATION_MODEL, check_request
from batchgpt.simulator.response_answers import expected_response_text, response_object
from batchgpt.simulator.tokens import input_tokens
from batchgpt.simulator.tool_calls import ToolCall, call_for_request

__all__ = [
    "Answer",
    "CHAT_ENDPOINT",
    "EMBEDDINGS_ENDPOINT",
    "answer",
    "chat_completion",
    "embedding_dimensions",
    "embeddings_response",
    "expected_chat_content",
    "expected_completion_text",
    "expected_embedding",
    "expected_response_text",
    "expected_tool_call",
    "outcome",
    "request_error",
]


def expected_tool_call(endpoint: str, body: dict[str, object]) -> ToolCall | None:
    """The function call (name, JSON arguments) the simulator answers a chat or Responses body with."""
    if endpoint not in (CHAT_ENDPOINT, RESPONSES_ENDPOINT):
        return None
    return call_for_request(body, responses_api=endpoint == RESPONSES_ENDPOINT)


def request_error(endpoint: str, body: object, model_known: Callable[[str], bool] = lambda _: True) -> SimError | None:
    """The error the model answers ``body`` with (a bad request or a ``[sim:error=NNN]`` marker), if any."""
    try:
        checked = check_request(endpoint, body, model_known)
    except SimError as error:
        return error
    markers = markers_of(endpoint, checked)
    if markers.error_status is not None and 400 <= markers.error_status <= 599:
        retry_after = 1.0 if markers.error_status in (429, 503) else None
        return status_error(
            markers.error_status,
            code=markers.error_code,
            model=str(checked.get("model") or DEFAULT_MODERATION_MODEL),
            retry_after_seconds=retry_after,
        )
    return None


def _failure(error: SimError) -> Answer:
    return Answer(error.status, error.body(), headers=dict(error.headers))


def _success(endpoint: str, body: dict[str, object], completion_id: str, created: int) -> Answer:
    if endpoint == EMBEDDINGS_ENDPOINT:
        return embeddings_response(body)
    if endpoint == RESPONSES_ENDPOINT:
        return response_object(body, response_id="resp_" + derived_hex(completion_id, 48), created=created)
    if endpoint == COMPLETIONS_ENDPOINT:
        return text_completion(body, completion_id="cmpl-" + derived_base62(completion_id, 29), created=created)
    if endpoint == MODERATIONS_ENDPOINT:
        return moderation_response(body, moderation_id="modr-" + derived_hex(completion_id, 32))
    return chat_completion(body, completion_id=completion_id, created=created)


def answer(
    endpoint: str,
    body: object,
    *,
    completion_id: str,
    created: int,
    model_known: Callable[[str], bool] = lambda _: True,
) -> Answer:
    """Answer one request to ``endpoint``: success, 4xx for a bad body, or the error a marker asks for.

    ``completion_id`` is the chat completion's id; the other endpoints derive their ids (``resp_…``,
    ``cmpl-…``, ``modr-…``) from it, so the same value gives the same answer.
    """
    error = request_error(endpoint, body, model_known)
    if error is not None or not isinstance(body, dict):
        return _failure(error or invalid_request("The request body must be a JSON object."))
    return _success(endpoint, body, completion_id, created)


def outcome(endpoint: str, body: object) -> tuple[int, int, int]:
    """(status code, input tokens, output tokens) of a request (embeddings without building vectors)."""
    if endpoint == EMBEDDINGS_ENDPOINT:
        error = request_error(endpoint, body)
        if error is not None or not isinstance(body, dict):
            return (error.status if error else 400), 0, 0
        return 200, input_tokens(body.get("input")), 0
    result = answer(endpoint, body, completion_id="chatcmpl-outcome", created=0)
    if result.status_code != 200:
        return result.status_code, 0, 0
    return 200, result.input_tokens, result.output_tokens
