"""``stream: true``: which endpoints replay their finished result as server-sent events, and how (no I/O).

The Batch API cannot stream, so the collator removes ``stream`` and ``stream_options`` upstream and
the finished object is replayed in the endpoint's own event format: ``chat.completion.chunk``s,
``text_completion`` chunks, the Responses API's events, or Anthropic's Messages events
(:mod:`ingress.http.chunk_replay`, :mod:`ingress.http.response_events`, :mod:`ingress.http.message_events`).

Only a **success** is streamed. The response headers are held until the result is known: an error
outcome is answered like a call without ``stream`` (its real status and OpenAI's error envelope, as
JSON), so the SDK raises the same class (``BadRequestError``, ``RateLimitError`` …, with
``status_code``), which it cannot do once a ``200 text/event-stream`` has started (an error event
there becomes a bare ``APIError``). Holding the headers costs the SDKs nothing: they wait for the
headers under the same read timeout as for any held call, and a streamed call ends its wait exactly
like a call without ``stream`` (the same answer when the wait limit passes). The price is that no
keep-alive comment can be sent while the call is held.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ingress.http.chunk_replay import include_usage, replay_chat, replay_completion
from ingress.http.message_events import replay_message
from ingress.http.response_events import replay_response
from schemas.status import Endpoint

__all__ = ["SSE_HEADERS", "Replayer", "replayer_for", "streams"]

Replayer = Callable[[dict[str, Any]], list[bytes]]
"""Turns a finished result body into the events that replay it."""

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _chat(body: dict[str, Any]) -> Replayer:
    return functools.partial(replay_chat, with_usage=include_usage(body))


def _completion(body: dict[str, Any]) -> Replayer:
    return functools.partial(replay_completion, with_usage=include_usage(body))


def _response(body: dict[str, Any]) -> Replayer:
    return replay_response


def _message(body: dict[str, Any]) -> Replayer:
    return replay_message


_REPLAYERS: dict[Endpoint, Callable[[dict[str, Any]], Replayer]] = {
    Endpoint.CHAT_COMPLETIONS: _chat,
    Endpoint.COMPLETIONS: _completion,
    Endpoint.RESPONSES: _response,
    Endpoint.MESSAGES: _message,
}


def streams(endpoint: Endpoint) -> bool:
    """Whether ``stream: true`` is honoured on ``endpoint``."""
    return endpoint in _REPLAYERS


def replayer_for(endpoint: Endpoint, body: dict[str, Any]) -> Replayer | None:
    """How to replay the result of ``body`` (None: the call did not ask for a stream, or cannot have one).

    The options are read from the body now, so the body itself need not stay alive while the call is held.
    """
    factory = _REPLAYERS.get(endpoint)
    if factory is None or body.get("stream") is not True:
        return None
    return factory(body)
