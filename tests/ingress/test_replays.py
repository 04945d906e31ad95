"""The replays themselves, without a server: every event is the SDK's type, and the SDK's own stream
accumulators rebuild exactly the finished object (chat, completions, Responses)."""

from __future__ import annotations

import json
from typing import Any

from openai._types import omit
from openai.lib.streaming.chat._completions import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from ingress.http.chunk_replay import chat_chunks, completion_chunks, replay_chat, replay_completion
from ingress.http.response_events import replay_response, response_events
from ingress.http.streaming import replayer_for
from schemas.status import Endpoint
from tests.ingress.rich_objects import rich_chat_completion, rich_completion, rich_response
from tests.support.conformance import UNDECLARED, assert_conforms, unparsed

EVENT = TypeAdapter(ResponseStreamEvent)


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True, exclude_unset=True))


def test_response_events_rebuild_the_response_in_the_sdk_accumulator() -> None:
    response = rich_response()
    events = response_events(response)
    state = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in events:
        assert_conforms(ResponseStreamEvent, event)
        state.handle_event(EVENT.validate_python(event))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    final = state._completed_response
    assert final is not None and unparsed(_dump(final)["output"]) == response["output"]
    assert final.output_text == "Oslo is cold."


def test_an_incomplete_response_ends_with_response_incomplete() -> None:
    response = {**rich_response(), "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}
    assert response_events(response)[-1]["type"] == "response.incomplete"
    assert replay_response(response)[-1].startswith(b"event: response.incomplete\ndata: ")


def test_chat_chunks_rebuild_every_part_in_the_sdk_accumulator() -> None:
    completion = rich_chat_completion()
    state = ChatCompletionStreamState()
    for chunk in chat_chunks(completion, with_usage=True):
        assert_conforms(ChatCompletionChunk, chunk, undeclared=UNDECLARED["chat.completion.chunk"])
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    final = state.get_final_completion()
    expected = ChatCompletion.model_validate(completion)
    for got, want in zip(final.choices, expected.choices, strict=True):
        assert got.finish_reason == want.finish_reason and got.logprobs == want.logprobs
        assert got.message.content == want.message.content and got.message.audio == want.message.audio
        assert got.message.annotations == want.message.annotations
        assert [(c.id, c.function.arguments) for c in got.message.tool_calls or []] == [
            (c.id, c.function.arguments) for c in want.message.tool_calls or []
        ]
    assert final.usage == expected.usage and final.system_fingerprint == "fp_rich"


def test_completion_chunks_are_sdk_completions_carrying_each_choice() -> None:
    completion = rich_completion()
    chunks = completion_chunks(completion, with_usage=True)
    for chunk in chunks:
        assert_conforms(Completion, chunk)
    assert [c["choices"] for c in chunks[:-1]] == [[choice] for choice in completion["choices"]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == completion["usage"]
    assert all("usage" not in c for c in completion_chunks(completion, with_usage=False))


def test_each_endpoint_replays_in_its_own_format_and_only_when_asked() -> None:
    assert replayer_for(Endpoint.CHAT_COMPLETIONS, {"stream": False}) is None
    assert replayer_for(Endpoint.EMBEDDINGS, {"stream": True}) is None
    assert replayer_for(Endpoint.MODERATIONS, {"stream": True}) is None
    completion, chat_completion, response = rich_completion(), rich_chat_completion(), rich_response()
    chat = replayer_for(Endpoint.CHAT_COMPLETIONS, {"stream": True, "stream_options": {"include_usage": True}})
    assert chat is not None and chat(chat_completion) == replay_chat(chat_completion, with_usage=True)
    assert chat(chat_completion)[-1] == b"data: [DONE]\n\n"
    completions = replayer_for(Endpoint.COMPLETIONS, {"stream": True})
    assert completions is not None and completions(completion) == replay_completion(completion, with_usage=False)
    assert [json.loads(piece[len(b"data: ") :]) for piece in completions(completion)[:-1]] == completion_chunks(
        completion, with_usage=False
    )
    responses = replayer_for(Endpoint.RESPONSES, {"stream": True})
    assert responses is not None and responses(response) == replay_response(response)
    assert all(piece.startswith(b"event: response.") for piece in responses(response))
