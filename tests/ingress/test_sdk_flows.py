"""The official OpenAI SDK (sync, async, streaming) against a real ingress, broker and database."""

from __future__ import annotations

import httpx
import openai
import pytest

from batchgpt.simulator.answers import expected_chat_content, expected_embedding
from tests.ingress.conftest import Stack


def _chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def test_sync_sdk_gets_the_completion_the_batch_produced(stack: Stack, prompt) -> None:
    text = prompt("sync")
    client = stack.client()
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], temperature=0, extra_body={"x_custom": 7}
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == expected_chat_content(_chat(text))
    [produced] = stack.stand_in.with_text(text)
    # the body travels untouched: unknown fields and temperature 0 kept
    assert produced.body["temperature"] == 0 and produced.body["x_custom"] == 7
    assert produced.reply_to is not None and produced.reply_to.topic == stack.kafka.topics.replies
    assert produced.tenant.startswith("t_") and produced.request_id.startswith("req_")


async def test_async_sdk_answers_concurrent_callers(stack: Stack, prompt) -> None:
    import asyncio

    client = stack.async_client()
    texts = [prompt(f"async{i}") for i in range(5)]
    completions = await asyncio.gather(
        *(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": t}]) for t in texts)
    )
    for text, completion in zip(texts, completions, strict=True):
        assert completion.choices[0].message.content == expected_chat_content(_chat(text))
    await client.close()


def test_streaming_sdk_replays_chunks_with_usage(stack: Stack, prompt) -> None:
    text = prompt("stream")
    client = stack.client()
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == expected_chat_content(_chat(text))
    assert chunks[0].choices[0].delta.role == "assistant"
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    # stream fields are kept in the produced body (the collator strips them upstream)
    [produced] = stack.stand_in.with_text(text)
    assert produced.body["stream"] is True


async def test_async_streaming_sdk_without_usage(stack: Stack, prompt) -> None:
    text = prompt("astream")
    client = stack.async_client()
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected_chat_content(_chat(text))
    await client.close()


def test_raw_sse_starts_once_the_result_is_known_and_ends_with_done(stack: Stack, prompt) -> None:
    text = prompt("[hold] raw-sse")

    def call() -> tuple[httpx.Response, list[str]]:
        with httpx.Client(timeout=30) as http:
            with http.stream(
                "POST",
                f"{stack.base_url}/v1/chat/completions",
                json=_chat(text, stream=True),
                headers={"Authorization": f"Bearer {stack_key()}"},
            ) as response:
                return response, list(response.iter_lines())

    response, lines = stack.stand_in.answer_during(call, text)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-batchgpt-request-id"].startswith("req_")
    data = [line for line in lines if line.startswith("data: ")]
    assert data[-1] == "data: [DONE]"
    assert '"chat.completion.chunk"' in data[0]


def test_error_reply_reaches_the_caller_with_its_status(stack: Stack, prompt) -> None:
    text = prompt("[sim:error=400:context_length_exceeded] too long")
    client = stack.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])
    assert caught.value.status_code == 400
    assert caught.value.code == "context_length_exceeded"


def test_error_reply_of_a_stream_raises_the_sdk_class_of_its_status(stack: Stack, prompt) -> None:
    text = prompt("[hold] stream-error")
    error = {"error": {"message": "upstream broke", "type": "server_error", "param": None, "code": None}}

    def call() -> list[object]:
        return list(
            stack.client().chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
            )
        )

    with pytest.raises(openai.InternalServerError, match="upstream broke") as caught:
        stack.stand_in.answer_during(call, text, 500, error)
    assert caught.value.status_code == 500


def test_embeddings_through_the_sdk(stack: Stack, prompt) -> None:
    text = prompt("embed")
    client = stack.client()
    response = client.embeddings.create(model="text-embedding-3-small", input=[text, text + " two"], dimensions=8)
    assert [item.embedding for item in response.data] == [
        expected_embedding(text, 8),
        expected_embedding(text + " two", 8),
    ]
    [produced] = stack.stand_in.with_text(text)
    assert produced.endpoint.value == "/v1/embeddings"


def stack_key() -> str:
    from tests.ingress.conftest import ALICE

    return ALICE
