"""Chat completions: the assistant content is derived from the last user message
(``expected_chat_content(body)``); with ``tools`` the model may call a function instead
(``simulator.tool_calls``); ``response_format`` asks for JSON; ``logprobs`` adds per-token logprobs."""

from __future__ import annotations

import json

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.generation import answer_text, fingerprint, formatted_text, int_field, truncated
from batchgpt.simulator.ids import derived_base62
from batchgpt.simulator.logprobs import chat_logprobs
from batchgpt.simulator.request_text import last_user_text
from batchgpt.simulator.service_tiers import served_tier
from batchgpt.simulator.tokens import chat_prompt_tokens, text_tokens, usage_counts
from batchgpt.simulator.tool_calls import call_for_request

__all__ = ["chat_completion", "choice_count", "expected_chat_content", "tools_tokens"]


def choice_count(body: dict[str, object]) -> int:
    """How many choices a request asks for (``n``, default 1)."""
    return int_field(body, "n") or 1


def tools_tokens(body: dict[str, object]) -> int:
    """Prompt tokens the ``tools`` definitions add."""
    tools = body.get("tools")
    return text_tokens(json.dumps(tools)) if tools else 0


def _content(body: dict[str, object], index: int) -> tuple[str, str]:
    """(content, finish_reason) of text choice ``index``."""
    content = answer_text(last_user_text(body), index)
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        content = formatted_text(content, response_format.get("type"), schema)
    content, cut = truncated(content, int_field(body, "max_completion_tokens", "max_tokens"))
    return content, "length" if cut else "stop"


def expected_chat_content(body: dict[str, object], choice_index: int = 0) -> str:
    """The assistant text the simulator answers ``body`` with (choice 0 unless told); a function call
    (``simulator.tool_calls``) replaces it with ``content: null``."""
    return _content(body, choice_index)[0]


def _choice(body: dict[str, object], index: int, completion_id: str) -> tuple[dict[str, object], int]:
    """One choice and its output tokens."""
    message: dict[str, object] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    call = call_for_request(body, responses_api=False)
    content: str | None = None
    if call is not None:
        call_id = "call_" + derived_base62(f"{completion_id}:{index}:call", 24)
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        ]
        finish_reason, tokens = "tool_calls", text_tokens(call.name + call.arguments)
    else:
        content, finish_reason = _content(body, index)
        message["content"], tokens = content, text_tokens(content)
    top = int_field(body, "top_logprobs") or 0
    choice = {
        "index": index,
        "message": message,
        "logprobs": chat_logprobs(content, top) if body.get("logprobs") is True else None,
        "finish_reason": finish_reason,
    }
    return choice, tokens


def chat_completion(body: dict[str, object], *, completion_id: str, created: int) -> Answer:
    """A 200 ChatCompletion for a checked chat request body."""
    model = str(body["model"])
    choices = []
    output_tokens = 0
    for index in range(choice_count(body)):
        choice, tokens = _choice(body, index, completion_id)
        choices.append(choice)
        output_tokens += tokens
    prompt_tokens = chat_prompt_tokens(body.get("messages")) + tools_tokens(body)
    completion = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": {
            **usage_counts(prompt_tokens, output_tokens),
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": served_tier(body),
        "system_fingerprint": fingerprint(model),
    }
    return Answer(200, completion, input_tokens=prompt_tokens, output_tokens=output_tokens)
