"""Finished objects with every part a replay must keep (tool calls, annotations, audio, logprobs, refusals).

The stand-in answers a ``[hold]`` request with one of these (``stand_in.answer(message, 200, body)``), so
the streaming and conformance tests can check that nothing is lost between the batch line and the client.
Each is in OpenAI's exact shape (the conformance tests validate them with the SDK's types too).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["rich_chat_completion", "rich_completion", "rich_response"]


def _token(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "bytes": list(token.encode()), "logprob": logprob, "top_logprobs": []}


def rich_chat_completion(model: str = "gpt-4o-mini") -> dict[str, Any]:
    """A ChatCompletion with two choices: text with annotations, audio and logprobs; and tool calls."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_rich",
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "See the docs.",
                    "refusal": None,
                    "annotations": [
                        {
                            "type": "url_citation",
                            "url_citation": {
                                "start_index": 8,
                                "end_index": 12,
                                "title": "Docs",
                                "url": "https://d.example",
                            },
                        }
                    ],
                    "audio": {
                        "id": "audio_rich",
                        "data": "UklGRg==",
                        "expires_at": 1999999999,
                        "transcript": "See the docs.",
                    },
                },
                "logprobs": {
                    "content": [_token("See", -0.1), _token(" the", -0.2), _token(" docs.", -0.3)],
                    "refusal": None,
                },
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                        },
                        {
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": '{"tz":"UTC"}'},
                        },
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            },
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32},
    }


def rich_response(model: str = "gpt-4o-mini") -> dict[str, Any]:
    """A completed Response: reasoning, a message (annotated text with logprobs, then a refusal), a function call."""
    created = int(time.time())
    return {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": created,
        "status": "completed",
        "completed_at": created + 1,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": [
            {"id": "rs_rich", "type": "reasoning", "summary": [], "status": "completed"},
            {
                "id": "msg_rich",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [
                    {
                        "type": "output_text",
                        "text": "Oslo is cold.",
                        "annotations": [
                            {
                                "type": "url_citation",
                                "start_index": 0,
                                "end_index": 4,
                                "title": "Oslo",
                                "url": "https://o.example",
                            }
                        ],
                        "logprobs": [
                            {
                                "token": "Oslo",
                                "bytes": list(b"Oslo"),
                                "logprob": -0.5,
                                "top_logprobs": [{"token": "Oslo", "bytes": list(b"Oslo"), "logprob": -0.5}],
                            }
                        ],
                    },
                    {"type": "refusal", "refusal": "No more."},
                ],
            },
            {
                "id": "fc_rich",
                "type": "function_call",
                "status": "completed",
                "call_id": "call_rich",
                "name": "get_weather",
                "arguments": '{"city":"Oslo"}',
            },
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "low", "summary": None},
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": None,
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "strict": False,
            }
        ],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 20,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 30,
            "output_tokens_details": {"reasoning_tokens": 10},
            "total_tokens": 50,
        },
        "user": None,
        "metadata": {},
    }


def rich_completion(model: str = "gpt-3.5-turbo-instruct") -> dict[str, Any]:
    """A Completion with two choices, legacy logprobs on the first."""
    return {
        "id": f"cmpl-{uuid.uuid4().hex[:24]}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_rich",
        "choices": [
            {
                "text": " first",
                "index": 0,
                "logprobs": {
                    "tokens": [" first"],
                    "token_logprobs": [-0.25],
                    "top_logprobs": [{" first": -0.25}],
                    "text_offset": [0],
                },
                "finish_reason": "stop",
            },
            {"text": " second", "index": 1, "logprobs": None, "finish_reason": "length"},
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
