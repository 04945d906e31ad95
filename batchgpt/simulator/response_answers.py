"""The Responses API: a ``Response`` whose output is one assistant message with ``output_text`` (derived
from ``input``: ``expected_response_text(body)``) or, with ``tools``, one ``function_call`` item.

``text.format`` asks for JSON (``json_schema``: the schema's minimal instance); ``max_output_tokens``
cuts the text and makes the response ``incomplete``; ``include: ["message.output_text.logprobs"]`` (with
``top_logprobs``) fills ``output_text.logprobs``. Request settings are echoed as OpenAI echoes them.
"""

from __future__ import annotations

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.chat_answers import tools_tokens
from batchgpt.simulator.generation import answer_text, formatted_text, int_field, truncated
from batchgpt.simulator.ids import derived_base62, derived_hex
from batchgpt.simulator.logprobs import token_logprobs
from batchgpt.simulator.request_text import response_input_text
from batchgpt.simulator.service_tiers import served_tier
from batchgpt.simulator.tokens import chat_prompt_tokens, text_tokens
from batchgpt.simulator.tool_calls import call_for_request

__all__ = ["expected_response_text", "response_object"]

_LOGPROBS_INCLUDE = "message.output_text.logprobs"


def _format(body: dict[str, object]) -> dict[str, object]:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    return fmt if isinstance(fmt, dict) else {"type": "text"}


def _text(body: dict[str, object]) -> tuple[str, bool]:
    """(output text, whether ``max_output_tokens`` cut it)."""
    fmt = _format(body)
    text = formatted_text(answer_text(response_input_text(body)), fmt.get("type"), fmt.get("schema"))
    return truncated(text, int_field(body, "max_output_tokens"))


def expected_response_text(body: dict[str, object]) -> str:
    """The ``output_text`` the simulator answers a Responses request with (unless it calls a function)."""
    return _text(body)[0]


def _input_tokens(body: dict[str, object]) -> int:
    raw = body.get("input")
    items = raw if isinstance(raw, list) else [{"role": "user", "content": raw}]
    instructions = body.get("instructions")
    extra = text_tokens(instructions) if isinstance(instructions, str) else 0
    return chat_prompt_tokens(items) + extra + tools_tokens(body)


def _tools(body: dict[str, object]) -> list[object]:
    """``tools`` as the response echoes them (function tools with ``description`` and ``strict`` filled in)."""
    echoed: list[object] = []
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and tool.get("type") == "function":
            tool = {"description": None, "parameters": None, "strict": True, **tool}
        echoed.append(tool)
    return echoed


def _output(body: dict[str, object], response_id: str) -> tuple[dict[str, object], int, bool]:
    """The output item, its tokens, and whether the response is incomplete."""
    call = call_for_request(body, responses_api=True)
    if call is not None:
        item: dict[str, object] = {
            "id": "fc_" + derived_hex(response_id + ":fc", 48),
            "type": "function_call",
            "status": "completed",
            "arguments": call.arguments,
            "call_id": "call_" + derived_base62(response_id + ":call", 24),
            "name": call.name,
        }
        return item, text_tokens(call.name + call.arguments), False
    text, cut = _text(body)
    include = body.get("include")
    wants_logprobs = isinstance(include, list) and _LOGPROBS_INCLUDE in include
    part = {
        "type": "output_text",
        "text": text,
        "annotations": [],
        "logprobs": token_logprobs(text, int_field(body, "top_logprobs") or 0) if wants_logprobs else [],
    }
    item = {
        "id": "msg_" + derived_hex(response_id + ":msg", 48),
        "type": "message",
        "status": "incomplete" if cut else "completed",
        "role": "assistant",
        "content": [part],
    }
    return item, text_tokens(text), cut


def response_object(body: dict[str, object], *, response_id: str, created: int) -> Answer:
    """A 200 ``Response`` for a checked Responses request body."""
    item, output_tokens, incomplete = _output(body, response_id)
    input_tokens = _input_tokens(body)
    text = body.get("text")
    verbosity = text.get("verbosity") if isinstance(text, dict) else None
    response: dict[str, object] = {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "incomplete" if incomplete else "completed",
        "background": body.get("background") is True,
        "completed_at": None if incomplete else created,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": str(body["model"]),
        "output": [item],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": served_tier(body),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": _format(body), "verbosity": verbosity or "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    return Answer(200, response, input_tokens=input_tokens, output_tokens=output_tokens)
