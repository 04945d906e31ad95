"""The 400/404 answers a request body gets before the model runs, per endpoint, in OpenAI's words.

``check_request(endpoint, body, model_known)`` raises the ``SimError`` OpenAI would answer: a missing or
wrongly typed required field, an unknown model, a ``tool_choice`` without ``tools`` (or naming a
function that is not there), a ``json_schema`` format without its ``name`` or ``schema``, bad
``n``/``logprobs``/``top_logprobs``. Lines of a batch get the same checks (a 4xx line, not a failed batch).
"""

from __future__ import annotations

from collections.abc import Callable

from batchgpt.simulator.endpoints import (
    CHAT_ENDPOINT,
    COMPLETIONS_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    MODERATIONS_ENDPOINT,
    RESPONSES_ENDPOINT,
)
from batchgpt.simulator.errors import SimError, invalid_request, missing_parameter, model_not_found, out_of_range
from batchgpt.simulator.request_text import embedding_inputs, moderation_inputs, prompt_texts
from batchgpt.simulator.tool_calls import function_specs, named_choice

__all__ = ["DEFAULT_MODERATION_MODEL", "check_request"]

DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _invalid_type(param: str, expected: str) -> SimError:
    return invalid_request(f"Invalid type for '{param}': expected {expected}.", param=param, code="invalid_type")


def _check_range(body: dict[str, object], name: str, low: int, high: int) -> None:
    value = body.get(name)
    if value is None:
        return
    if not _is_int(value):
        raise _invalid_type(name, "an integer")
    assert isinstance(value, int)
    error = out_of_range(name, value, low, high)
    if error is not None:
        raise error


def _check_model(endpoint: str, body: dict[str, object], model_known: Callable[[str], bool]) -> None:
    model = body.get("model")
    if model is None and endpoint == MODERATIONS_ENDPOINT:
        return
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str) or not model:
        raise _invalid_type("model", "a string")
    if not model_known(model):
        raise model_not_found(model)


def _check_tools(body: dict[str, object], *, nested: bool) -> None:
    tool_choice = body.get("tool_choice")
    if tool_choice is None:
        return
    specs = function_specs(body.get("tools"), nested=nested)
    if not body.get("tools"):
        raise invalid_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if isinstance(tool_choice, str) and tool_choice not in ("none", "auto", "required"):
        raise invalid_request(
            f"Invalid value: '{tool_choice}'. Supported values are: 'none', 'auto', and 'required'.",
            param="tool_choice",
            code="invalid_value",
        )
    name = named_choice(tool_choice, nested=nested)
    if name is not None and all(spec.name != name for spec in specs):
        raise invalid_request(
            f"Invalid value for 'tool_choice': function '{name}' is not among the 'tools'.",
            param="tool_choice",
            code="invalid_value",
        )


def _check_format(fmt: object, param: str, *, nested: bool) -> None:
    """``response_format`` (chat: ``json_schema`` nested) or ``text.format`` (Responses: flat)."""
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return
    holder = fmt.get("json_schema") if nested else fmt
    prefix = f"{param}.json_schema" if nested else param
    if not isinstance(holder, dict):
        raise missing_parameter(prefix)
    for name in ("name", "schema") if not nested else ("name",):
        if holder.get(name) is None:
            raise missing_parameter(f"{prefix}.{name}")
    if holder.get("schema") is not None and not isinstance(holder["schema"], dict):
        raise _invalid_type(f"{prefix}.schema", "an object")


def _check_chat(body: dict[str, object]) -> None:
    messages = body.get("messages")
    if messages is None:
        raise missing_parameter("messages")
    if not isinstance(messages, list):
        raise _invalid_type("messages", "an array")
    if not messages:
        raise invalid_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise invalid_request(
                f"Invalid value for 'messages[{index}].role'.",
                param=f"messages[{index}].role",
                code="invalid_value",
            )
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128):
        raise invalid_request("Invalid 'n': expected an integer from 1 to 128.", param="n", code="invalid_value")
    _check_range(body, "top_logprobs", 0, 20)
    if body.get("top_logprobs") is not None and body.get("logprobs") is not True:
        raise invalid_request(
            "Invalid value for 'logprobs': must be true when 'top_logprobs' is set.",
            param="logprobs",
            code="invalid_value",
        )
    _check_tools(body, nested=True)
    _check_format(body.get("response_format"), "response_format", nested=True)


def _check_responses(body: dict[str, object]) -> None:
    raw = body.get("input")
    if raw is None:
        raise missing_parameter("input")
    if not isinstance(raw, str | list):
        raise _invalid_type("input", "a string or an array of input items")
    _check_range(body, "top_logprobs", 0, 20)
    max_output = body.get("max_output_tokens")
    if max_output is not None:
        _check_range(body, "max_output_tokens", 16, 1_000_000)
    _check_tools(body, nested=False)
    text = body.get("text")
    _check_format(text.get("format") if isinstance(text, dict) else None, "text.format", nested=False)


def _check_completions(body: dict[str, object]) -> None:
    if body.get("prompt") is None:
        raise missing_parameter("prompt")
    if not prompt_texts(body):
        raise invalid_request("'$.prompt' is invalid. Please check the API reference.", param="prompt")
    _check_range(body, "logprobs", 0, 5)
    _check_range(body, "n", 1, 128)


def _check_embeddings(body: dict[str, object]) -> None:
    raw = body.get("input")
    if raw is None:
        raise missing_parameter("input")
    if raw == "" or raw == [] or not embedding_inputs(body):
        raise invalid_request("'$.input' is invalid. Please check the API reference.", param="input")
    if len(embedding_inputs(body)) > 2048:
        raise invalid_request("'$.input' must have at most 2048 items.", param="input", code="invalid_value")
    if body.get("encoding_format", "float") not in ("float", "base64"):
        raise invalid_request(
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )


def _check_moderations(body: dict[str, object]) -> None:
    if body.get("input") is None:
        raise missing_parameter("input")
    if not moderation_inputs(body):
        raise invalid_request("'$.input' is invalid. Please check the API reference.", param="input")


_BODY_CHECKS: dict[str, Callable[[dict[str, object]], None]] = {
    CHAT_ENDPOINT: _check_chat,
    RESPONSES_ENDPOINT: _check_responses,
    COMPLETIONS_ENDPOINT: _check_completions,
    EMBEDDINGS_ENDPOINT: _check_embeddings,
    MODERATIONS_ENDPOINT: _check_moderations,
}


def check_request(endpoint: str, body: object, model_known: Callable[[str], bool]) -> dict[str, object]:
    """``body`` when it is a request ``endpoint`` would run; else raise the ``SimError`` OpenAI answers."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    _check_model(endpoint, body, model_known)
    _BODY_CHECKS.get(endpoint, _check_chat)(body)
    return body
