"""A finished Message replayed as Anthropic's server-sent events, read back by the anthropic SDK's own stream."""

from __future__ import annotations

from typing import Any

import httpx2
from anthropic import Anthropic
from anthropic.types import Message

from ingress.http.message_events import message_events, replay_message

MESSAGE: dict[str, Any] = {
    "id": "msg_01abc",
    "type": "message",
    "role": "assistant",
    "model": "claude-test-model",
    "content": [
        {"type": "thinking", "thinking": "Let me look it up.", "signature": "sig=="},
        {"type": "text", "text": "Checking the weather in Paris.", "citations": None},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris", "days": [1, 2]}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 42,
        "output_tokens": 17,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 5,
        "service_tier": "batch",
    },
}


def _streaming_client(events: list[bytes]) -> Anthropic:
    """The SDK with a transport that answers every call with ``events`` (no network: the SDK's parsing is real)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=b"".join(events))

    return Anthropic(
        api_key="k",
        base_url="http://replay.invalid",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def test_the_event_sequence_is_anthropics() -> None:
    names = [name for name, _ in message_events(MESSAGE)]
    assert names == [
        "message_start",
        *["content_block_start", "content_block_delta", "content_block_delta", "content_block_stop"],
        *["content_block_start", "content_block_delta", "content_block_stop"],
        *["content_block_start", "content_block_delta", "content_block_stop"],
        "message_delta",
        "message_stop",
    ]
    start = dict(message_events(MESSAGE))["message_start"]
    assert start["message"]["content"] == [] and start["message"]["stop_reason"] is None


def test_the_sdk_stream_rebuilds_exactly_the_message() -> None:
    client = _streaming_client(replay_message(MESSAGE))
    with client.messages.stream(
        model="claude-test-model", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["Checking the weather in Paris."]
    assert final.model_dump(exclude_none=True) == Message.model_validate(MESSAGE).model_dump(exclude_none=True)


def test_get_final_text_and_create_stream_true() -> None:
    plain = {**MESSAGE, "content": [{"type": "text", "text": "Bonjour."}], "stop_reason": "end_turn"}
    client = _streaming_client(replay_message(plain))
    with client.messages.stream(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as stream:
        assert stream.get_final_text() == "Bonjour."
    events = list(
        client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    assert [event.type for event in events][0] == "message_start" and events[-1].type == "message_stop"
