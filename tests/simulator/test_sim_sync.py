"""The synchronous endpoints through the SDK (sync and async): chat, streaming, embeddings, errors."""

from __future__ import annotations

import time

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from batchgpt.simulator.answers import expected_chat_content, expected_embedding
from batchgpt.simulator.testing import RunningSimulator

from .batch_inputs import chat_body

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def test_chat_completion(sim: RunningSimulator, client: OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers["x-request-id"].startswith("req_")
    completion = raw.parse()
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini" and completion.service_tier == "default"
    assert completion.system_fingerprint and completion.system_fingerprint.startswith("fp_")
    [choice] = completion.choices
    assert choice.finish_reason == "stop" and choice.logprobs is None and choice.message.refusal is None
    assert choice.message.content == expected_chat_content(chat_body("What is the capital of France?"))
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert sim.stats()["api_calls"] == {"chat.completions": 1}


def test_chat_streaming(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_chat_content(chat_body("What is the capital of France?"))
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_chat_errors(sim: RunningSimulator, client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9-imaginary", messages=MESSAGES)
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "[sim:error=400]"}]
        )
    assert bad.value.body is not None and bad.value.type == "invalid_request_error"
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "[sim:error=429]"}]
        )
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert missing.value.param == "messages"


def test_embeddings_float_and_base64(client: OpenAI) -> None:
    default = client.embeddings.create(
        model="text-embedding-3-small", input="hello"
    )  # the SDK asks for base64
    assert default.data[0].embedding == expected_embedding("hello", 1536)
    floats = client.embeddings.create(
        model="text-embedding-3-large", input=["a", "b"], encoding_format="float"
    )
    assert [d.embedding for d in floats.data] == [
        expected_embedding("a", 3072),
        expected_embedding("b", 3072),
    ]
    assert [d.index for d in floats.data] == [0, 1] and floats.object == "list"
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 2
    short = client.embeddings.create(
        model="text-embedding-3-small", input="x", dimensions=16, encoding_format="float"
    )
    assert len(short.data[0].embedding) == 16
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="text-embedding-3-small", input="")


def test_sync_delay(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(sync_delay_seconds=0.1)
    started = time.monotonic()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert time.monotonic() - started >= 0.1


async def test_async_chat_and_embeddings(aclient: AsyncOpenAI) -> None:
    completion = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.choices[0].message.content == expected_chat_content(
        chat_body("What is the capital of France?")
    )
    stream = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == completion.choices[0].message.content
    vectors = await aclient.embeddings.create(model="text-embedding-3-small", input=["q"])
    assert vectors.data[0].embedding == expected_embedding("q")
