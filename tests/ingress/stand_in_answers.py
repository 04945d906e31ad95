"""The stand-in's answers: the simulator's for chat and embeddings, OpenAI-shaped objects for the other endpoints.

Responses, completions and moderations get deterministic objects in OpenAI's exact shapes (the SDK's
types, no extra field), derived from the request's text; ``[sim:error=NNN(:code)]`` anywhere in the body
answers that status with OpenAI's error envelope, as the simulator does for chat.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any

from batchgpt.simulator.answers import answer
from batchgpt.simulator.errors import status_error
from schemas.messages import RequestMessage, body_model
from schemas.status import Endpoint

DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_ERROR = re.compile(r"\[sim:error=(\d{3})(?::([A-Za-z0-9_.-]+))?\]")


def expected_text(prompt: str) -> str:
    """The text the stand-in answers ``prompt`` with (Responses and completions)."""
    return f"Stand-in answer {hashlib.sha256(prompt.encode()).hexdigest()[:8]}: {prompt}"


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def input_text(value: Any) -> str:
    """The text of a Responses ``input`` (a string, or the last message's text parts) or of a ``prompt``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        last = value[-1]
        if isinstance(last, str):
            return last
        if isinstance(last, dict):
            content = last.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return json.dumps(value)


def response_object(body: dict[str, Any], created: int) -> dict[str, Any]:
    """A completed ``Response`` with one assistant message."""
    prompt = input_text(body.get("input"))
    text = expected_text(prompt)
    seed = _hex(prompt + str(created) + uuid.uuid4().hex)
    used_in, used_out = _tokens(prompt), _tokens(text)
    return {
        "id": f"resp_{seed[:32]}",
        "object": "response",
        "created_at": created,
        "status": "completed",
        "completed_at": created,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body_model(body),
        "output": [
            {
                "id": f"msg_{seed[32:64]}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": used_in,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": used_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": used_in + used_out,
        },
        "user": None,
        "metadata": {},
    }


def _prompts(body: dict[str, Any]) -> list[str]:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return [str(p) for p in prompt]
    return [input_text(prompt)]


def completion_object(body: dict[str, Any], created: int) -> dict[str, Any]:
    """A ``text_completion`` with one choice per prompt."""
    prompts = _prompts(body)
    texts = [expected_text(p) for p in prompts]
    used_in, used_out = sum(map(_tokens, prompts)), sum(map(_tokens, texts))
    return {
        "id": f"cmpl-{_hex(''.join(prompts) + uuid.uuid4().hex)[:29]}",
        "object": "text_completion",
        "created": created,
        "model": body_model(body),
        "choices": [
            {"text": text, "index": index, "logprobs": None, "finish_reason": "stop"}
            for index, text in enumerate(texts)
        ],
        "usage": {"prompt_tokens": used_in, "completion_tokens": used_out, "total_tokens": used_in + used_out},
    }


def _moderation_inputs(body: dict[str, Any]) -> list[str]:
    value = body.get("input")
    return [value] if isinstance(value, str) else [v if isinstance(v, str) else json.dumps(v) for v in value or []]


def moderation_object(body: dict[str, Any]) -> dict[str, Any]:
    """A ``ModerationCreateResponse``: one unflagged result per input (model: the body's, or OpenAI's default)."""
    results = [
        {
            "flagged": False,
            "categories": dict.fromkeys(MODERATION_CATEGORIES, False),
            "category_scores": {name: round(int(_hex(text + name)[:4], 16) / 1e6, 6) for name in MODERATION_CATEGORIES},
            "category_applied_input_types": {name: ["text"] for name in MODERATION_CATEGORIES},
        }
        for text in _moderation_inputs(body)
    ]
    model = body_model(body) or DEFAULT_MODERATION_MODEL
    return {"id": f"modr-{uuid.uuid4().hex[:24]}", "model": model, "results": results}


def _marked_error(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    match = _ERROR.search(json.dumps(body))
    if match is None:
        return None
    error = status_error(int(match.group(1)), code=match.group(2), model=body_model(body))
    return error.status, error.body()


def stand_in_answer(message: RequestMessage) -> tuple[int, dict[str, Any]]:
    """(status, body) the pipeline stand-in answers ``message`` with."""
    created = int(time.time())
    endpoint, body = message.endpoint, message.body
    if endpoint in (Endpoint.CHAT_COMPLETIONS, Endpoint.EMBEDDINGS):
        result = answer(endpoint.value, body, completion_id="chatcmpl-" + uuid.uuid4().hex[:24], created=created)
        return result.status_code, dict(result.body)
    marked = _marked_error(body)
    if marked is not None:
        return marked
    if endpoint is Endpoint.RESPONSES:
        return 200, response_object(body, created)
    if endpoint is Endpoint.COMPLETIONS:
        return 200, completion_object(body, created)
    return 200, moderation_object(body)
