"""Replays a finished Response (Responses API) as that API's server-sent events (no I/O).

The sequence OpenAI streams, each event numbered by ``sequence_number``::

    response.created, response.in_progress           the response, in progress, with no output yet
    per output item:
      response.output_item.added                     the item, in progress (a message without content,
                                                     a function call without arguments)
      message, per content part:
        response.content_part.added                  the part, empty
        response.output_text.delta                   the text (with its logprobs)
        response.output_text.annotation.added ...    one per annotation
        response.output_text.done
        (a refusal part: response.refusal.delta, response.refusal.done)
        response.content_part.done                   the part as finished
      function call:
        response.function_call_arguments.delta / .done
      response.output_item.done                      the item as finished
    response.completed                               the finished Response (response.incomplete or
                                                     response.failed when that is its status)

The SDK's ``client.responses.stream(...)`` takes its final response from the last event, so it yields
exactly the Response the batch line carried; no ``[DONE]`` follows (the Responses API sends none).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from ingress.http.sse import named_event

__all__ = ["replay_response", "response_events"]

_FINAL_EVENT = {"incomplete": "response.incomplete", "failed": "response.failed"}


def _in_progress(response: dict[str, Any]) -> dict[str, Any]:
    """The response as ``response.created`` shows it: in progress, no output, no usage yet."""
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    if "completed_at" in started:
        started["completed_at"] = None
    return started


def _started_item(item: dict[str, Any]) -> dict[str, Any]:
    """An output item as ``response.output_item.added`` shows it."""
    kind = item.get("type")
    if kind == "message":
        return {**item, "status": "in_progress", "content": []}
    if kind == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return {**item, "status": "in_progress"} if "status" in item else item


def _event_logprobs(logprobs: Any) -> list[dict[str, Any]]:
    """A content part's logprobs in the events' shape (token, logprob, top_logprobs: no ``bytes``)."""
    shaped = []
    for entry in logprobs or []:
        tops = [{"token": t.get("token"), "logprob": t.get("logprob")} for t in entry.get("top_logprobs") or []]
        shaped.append({"token": entry.get("token"), "logprob": entry.get("logprob"), "top_logprobs": tops})
    return shaped


def _empty_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "output_text":
        empty: dict[str, Any] = {"type": kind, "text": "", "annotations": []}
        if "logprobs" in part:
            empty["logprobs"] = []
        return empty
    if kind == "refusal":
        return {"type": kind, "refusal": ""}
    return part


def _part_events(part: dict[str, Any], where: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The events of one content part; ``where`` is its ``item_id``, ``output_index`` and ``content_index``."""
    yield "response.content_part.added", {**where, "part": _empty_part(part)}
    kind = part.get("type")
    if kind == "output_text":
        text = str(part.get("text") or "")
        logprobs = _event_logprobs(part.get("logprobs"))
        if text:
            yield "response.output_text.delta", {**where, "delta": text, "logprobs": logprobs}
        for index, annotation in enumerate(part.get("annotations") or []):
            yield (
                "response.output_text.annotation.added",
                {**where, "annotation_index": index, "annotation": annotation},
            )
        yield "response.output_text.done", {**where, "text": text, "logprobs": logprobs}
    elif kind == "refusal":
        refusal = str(part.get("refusal") or "")
        if refusal:
            yield "response.refusal.delta", {**where, "delta": refusal}
        yield "response.refusal.done", {**where, "refusal": refusal}
    yield "response.content_part.done", {**where, "part": part}


def _item_events(item: dict[str, Any], output_index: int) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "response.output_item.added", {"output_index": output_index, "item": _started_item(item)}
    item_id = str(item.get("id") or item.get("call_id") or "")
    kind = item.get("type")
    if kind == "message":
        for content_index, part in enumerate(item.get("content") or []):
            where = {"item_id": item_id, "output_index": output_index, "content_index": content_index}
            yield from _part_events(part, where)
    elif kind == "function_call":
        arguments = str(item.get("arguments") or "")
        where = {"item_id": item_id, "output_index": output_index}
        if arguments:
            yield "response.function_call_arguments.delta", {**where, "delta": arguments}
        yield "response.function_call_arguments.done", {**where, "arguments": arguments}
    yield "response.output_item.done", {"output_index": output_index, "item": item}


def _unnumbered(response: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    started = _in_progress(response)
    yield "response.created", {"response": started}
    yield "response.in_progress", {"response": started}
    for output_index, item in enumerate(response.get("output") or []):
        yield from _item_events(item, output_index)
    yield _FINAL_EVENT.get(str(response.get("status")), "response.completed"), {"response": response}


def response_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The events that replay ``response``, in order, each with its ``type`` and ``sequence_number``."""
    numbers = itertools.count()
    return [{"type": kind, **fields, "sequence_number": next(numbers)} for kind, fields in _unnumbered(response)]


def replay_response(response: dict[str, Any]) -> list[bytes]:
    """The server-sent events of a finished Response (``event: <type>`` + ``data:``)."""
    return [named_event(event["type"], event) for event in response_events(response)]
