"""Replays a finished ChatCompletion or (legacy) Completion as the chunks its stream would carry (no I/O).

Chat, per choice: a role chunk, the content (one chunk, with the choice's ``logprobs``), the refusal, the
``annotations``, the ``audio``, one chunk per tool call (with its ``index``), a legacy ``function_call``,
then a chunk with ``finish_reason``. Completions, per choice: one chunk with its text, ``logprobs`` and
``finish_reason``. With ``stream_options.include_usage`` every chunk carries ``"usage": null`` and a
last chunk with ``choices: []`` carries the usage. Each ends with ``[DONE]``. The SDKs' stream accumulators
(``client.chat.completions.stream``) rebuild exactly the finished object's message from these deltas.
"""

from __future__ import annotations

from typing import Any

from ingress.http.sse import DONE, data_event

__all__ = ["chat_chunks", "completion_chunks", "include_usage", "replay_chat", "replay_completion"]

_COPIED = ("system_fingerprint", "service_tier")


def include_usage(body: dict[str, Any]) -> bool:
    """Whether the request asked for the usage chunk (``stream_options.include_usage``)."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _chunk(finished: dict[str, Any], kind: str, choices: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": finished.get("id"),
        "object": kind,
        "created": finished.get("created"),
        "model": finished.get("model"),
    }
    for optional in _COPIED:
        if optional in finished:
            chunk[optional] = finished[optional]
    chunk["choices"] = choices
    if with_usage:
        chunk["usage"] = None
    return chunk


def _with_usage_chunk(
    finished: dict[str, Any], kind: str, chunks: list[dict[str, Any]], with_usage: bool
) -> list[dict[str, Any]]:
    if with_usage:
        last = _chunk(finished, kind, [], False)
        last["usage"] = finished.get("usage")
        chunks.append(last)
    return chunks


def _chat_deltas(choice: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(delta, logprobs) pieces of one choice, before the empty delta that carries ``finish_reason``."""
    message = choice.get("message") or {}
    content = message.get("content")
    first: dict[str, Any] = {"role": message.get("role", "assistant"), "content": "" if content is not None else None}
    pieces: list[tuple[dict[str, Any], Any]] = [(first, None)]
    if content:
        pieces.append(({"content": content}, None))
    if message.get("refusal"):
        pieces.append(({"refusal": message["refusal"]}, None))
    if message.get("annotations"):
        pieces.append(({"annotations": message["annotations"]}, None))
    if message.get("audio"):
        pieces.append(({"audio": message["audio"]}, None))
    for index, call in enumerate(message.get("tool_calls") or []):
        pieces.append(({"tool_calls": [{"index": index, **call}]}, None))
    if message.get("function_call"):
        pieces.append(({"function_call": message["function_call"]}, None))
    logprobs = choice.get("logprobs")
    if logprobs is not None:  # on the piece with the text, as OpenAI streams them (refusal logprobs alike)
        position = next((i for i, (d, _) in enumerate(pieces) if i and ("content" in d or "refusal" in d)), 0)
        delta, _ = pieces[position]
        pieces[position] = (delta, logprobs)
    return pieces


def chat_chunks(completion: dict[str, Any], with_usage: bool) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects that replay ``completion``, in order (``[DONE]`` not included)."""
    kind = "chat.completion.chunk"
    chunks: list[dict[str, Any]] = []
    for position, choice in enumerate(completion.get("choices") or []):
        index = choice.get("index", position)
        for delta, logprobs in _chat_deltas(choice):
            piece = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": None}
            chunks.append(_chunk(completion, kind, [piece], with_usage))
        final = {"index": index, "delta": {}, "logprobs": None, "finish_reason": choice.get("finish_reason", "stop")}
        chunks.append(_chunk(completion, kind, [final], with_usage))
    return _with_usage_chunk(completion, kind, chunks, with_usage)


def completion_chunks(completion: dict[str, Any], with_usage: bool) -> list[dict[str, Any]]:
    """The ``text_completion`` chunks that replay a (legacy) Completion (``[DONE]`` not included).

    One chunk per choice, carrying its text, logprobs and ``finish_reason`` together (the SDK's type of a
    completions chunk admits no ``finish_reason: null``).
    """
    kind = "text_completion"
    chunks = [
        _chunk(completion, kind, [{**choice, "index": choice.get("index", position)}], with_usage)
        for position, choice in enumerate(completion.get("choices") or [])
    ]
    return _with_usage_chunk(completion, kind, chunks, with_usage)


def replay_chat(completion: dict[str, Any], *, with_usage: bool) -> list[bytes]:
    """The events of a finished ChatCompletion: its chunks, then ``[DONE]``."""
    return [*(data_event(chunk) for chunk in chat_chunks(completion, with_usage)), DONE]


def replay_completion(completion: dict[str, Any], *, with_usage: bool) -> list[bytes]:
    """The events of a finished Completion: its chunks, then ``[DONE]``."""
    return [*(data_event(chunk) for chunk in completion_chunks(completion, with_usage)), DONE]
