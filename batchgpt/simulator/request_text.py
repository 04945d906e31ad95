"""The text a request is about, per endpoint: what answers are derived from and markers are read from.

* chat and Anthropic messages: the last ``user`` message (text parts of a content list);
* responses: ``input`` as a string, or the last user message among the input items;
* completions: each ``prompt`` (token arrays rendered as their JSON);
* embeddings and moderations: each ``input`` (a multimodal moderation list is one input: its texts).
"""

from __future__ import annotations

import json

from batchgpt.simulator.endpoints import (
    CHAT_ENDPOINT,
    COMPLETIONS_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    MESSAGES_ENDPOINT,
    MODERATIONS_ENDPOINT,
    RESPONSES_ENDPOINT,
)

__all__ = [
    "content_text",
    "embedding_inputs",
    "last_user_text",
    "moderation_inputs",
    "prompt_texts",
    "request_text",
    "response_input_text",
]

_TEXT_PARTS = ("text", "input_text", "output_text")


def content_text(content: object) -> str:
    """A message content as text: the string itself, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") in _TEXT_PARTS
        ]
        return "\n".join(parts)
    return ""


def _last_user_content(items: list[object]) -> str:
    dicts = [m for m in items if isinstance(m, dict) and "content" in m]
    users = [m for m in dicts if m.get("role") == "user"]
    chosen = users[-1] if users else (dicts[-1] if dicts else {})
    return content_text(chosen.get("content"))


def last_user_text(body: dict[str, object]) -> str:
    """The text of the last ``user`` message (or of the last message when no user spoke)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ""
    return _last_user_content(messages)


def response_input_text(body: dict[str, object]) -> str:
    """A Responses request's text: ``input`` itself, or its last user message."""
    raw = body.get("input")
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        return _last_user_content(raw)
    return ""


def _as_texts(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        if raw and all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
            return [json.dumps(raw)]
        return [x if isinstance(x, str) else json.dumps(x) for x in raw]
    return []


def embedding_inputs(body: dict[str, object]) -> list[str]:
    """Each embeddings input as a string (token arrays are rendered as their JSON)."""
    return _as_texts(body.get("input"))


def prompt_texts(body: dict[str, object]) -> list[str]:
    """Each legacy-completions prompt as a string (token arrays are rendered as their JSON)."""
    return _as_texts(body.get("prompt"))


def moderation_inputs(body: dict[str, object]) -> list[str]:
    """Each moderation input as text; a list of multimodal parts is one input (its text parts)."""
    raw = body.get("input")
    if isinstance(raw, list) and raw and all(isinstance(x, dict) for x in raw):
        return [content_text(raw)]
    return _as_texts(raw)


def request_text(endpoint: str, body: dict[str, object]) -> str:
    """The text of a request to ``endpoint`` (several inputs joined by newlines)."""
    if endpoint in (CHAT_ENDPOINT, MESSAGES_ENDPOINT):
        return last_user_text(body)
    if endpoint == RESPONSES_ENDPOINT:
        return response_input_text(body)
    if endpoint == COMPLETIONS_ENDPOINT:
        return "\n".join(prompt_texts(body))
    if endpoint == MODERATIONS_ENDPOINT:
        return "\n".join(moderation_inputs(body))
    if endpoint == EMBEDDINGS_ENDPOINT:
        return "\n".join(embedding_inputs(body))
    return ""
