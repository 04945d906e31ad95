"""The simulated model behind Anthropic's Messages API: a pure function from a Messages body to its answer.

The text comes from the same generation as the OpenAI answers (``simulator.generation``): a digest of the last
user message and an excerpt of it (``expected_message_text(body)``), cut at ``max_tokens`` (``stop_reason``
``max_tokens``, else ``end_turn``). A body Anthropic would refuse gets its 400 (a required field missing or of
the wrong type) or 404 (unknown model) in Anthropic's words, and the ``[sim:...]`` markers work as for OpenAI
(``simulator.markers``): ``[sim:error=NNN]`` answers that status, ``[sim:invalid]`` a 400.
"""

from __future__ import annotations

from collections.abc import Callable

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.anthropic_errors import AnthropicError, anthropic_error
from batchgpt.simulator.endpoints import MESSAGES_ENDPOINT
from batchgpt.simulator.generation import answer_text, int_field, truncated
from batchgpt.simulator.markers import markers_of
from batchgpt.simulator.request_text import content_text, last_user_text
from batchgpt.simulator.tokens import chat_prompt_tokens, text_tokens

__all__ = ["expected_message_text", "message_answer", "message_error"]


def _check(body: object, model_known: Callable[[str], bool]) -> dict[str, object]:
    if not isinstance(body, dict):
        raise anthropic_error(400, "The request body must be a JSON object.")
    for name in ("model", "max_tokens", "messages"):
        if body.get(name) is None:
            raise anthropic_error(400, f"{name}: Field required")
    model, messages = body["model"], body["messages"]
    if not isinstance(model, str) or not model:
        raise anthropic_error(400, "model: Input should be a valid string")
    if int_field(body, "max_tokens") is None:
        raise anthropic_error(400, "max_tokens: Input should be a valid integer greater than or equal to 1")
    if not isinstance(messages, list) or not messages:
        raise anthropic_error(400, "messages: at least one message is required")
    if not model_known(model):
        raise anthropic_error(404, f"model: {model}")
    return body


def message_error(body: object, model_known: Callable[[str], bool] = lambda _: True) -> AnthropicError | None:
    """The error the model answers ``body`` with (a bad body or a ``[sim:...]`` marker), if any."""
    try:
        checked = _check(body, model_known)
    except AnthropicError as error:
        return error
    markers = markers_of(MESSAGES_ENDPOINT, checked)
    if markers.invalid_code is not None:
        return anthropic_error(400, f"Simulated invalid request ({markers.invalid_code}).")
    if markers.error_status is not None and 400 <= markers.error_status <= 599:
        retry_after = 1.0 if markers.error_status in (429, 529) else None
        return anthropic_error(markers.error_status, retry_after_seconds=retry_after)
    return None


def expected_message_text(body: dict[str, object]) -> str:
    """The text block the simulator answers a Messages ``body`` with."""
    return _text(body)[0]


def _text(body: dict[str, object]) -> tuple[str, bool]:
    return truncated(answer_text(last_user_text(body)), int_field(body, "max_tokens"))


def message_answer(
    body: object,
    *,
    message_id: str,
    service_tier: str = "standard",
    model_known: Callable[[str], bool] = lambda _: True,
) -> Answer:
    """A 200 ``Message`` for ``body``, or the error (status and Anthropic's envelope) it gets."""
    error = message_error(body, model_known)
    if error is not None or not isinstance(body, dict):
        failure = error or anthropic_error(400, "The request body must be a JSON object.")
        return Answer(failure.status, failure.body(), headers=dict(failure.headers))
    text, cut = _text(body)
    input_tokens = chat_prompt_tokens(body.get("messages")) + text_tokens(content_text(body.get("system")))
    output_tokens = text_tokens(text)
    message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": text, "citations": None}],
        "stop_reason": "max_tokens" if cut else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": service_tier,
        },
    }
    return Answer(200, message, input_tokens=input_tokens, output_tokens=output_tokens)
