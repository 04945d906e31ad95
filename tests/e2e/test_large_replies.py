"""A reply larger than the broker's 1 MB default still reaches its caller: the topics batch-gpt creates take
messages as large as its producers send (``MAX_MESSAGE_BYTES``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from openai import OpenAI

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_embedding

pytestmark = pytest.mark.integration


def test_an_embeddings_answer_of_several_megabytes_reaches_its_caller(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=300)
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", timeout=120)
    inputs = [f"large reply input {i}" for i in range(120)]  # about 4 MB of JSON in the batch line's answer
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=inputs, encoding_format="float"
    )
    assert len(raw.http_response.content) > 2_000_000
    answer = raw.parse()
    assert [item.index for item in answer.data] == list(range(len(inputs)))
    dims = len(answer.data[0].embedding)
    assert answer.data[7].embedding == pytest.approx(expected_embedding(inputs[7], dims))
    assert stack.simulator.stats()["duplicate_custom_ids"] == []
