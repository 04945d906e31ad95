"""End to end through the simulator: Responses, completions, moderations and the model list with the official
SDK (sync and async), each batched per endpoint and model, streamed, and failing with the SDK's own error class."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types import Completion, ModerationCreateResponse
from openai.types.responses import Response

from batchgpt.devstack.stack import Stack
from tests.support.conformance import UNDECLARED, assert_conforms

pytestmark = pytest.mark.integration


def _raw(result: Any) -> dict[str, Any]:
    return dict(result.http_response.json())


def test_new_endpoints_through_the_sync_sdk(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=300)
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)

    response = client.responses.with_raw_response.create(model="gpt-4o-mini", input="Say hi from responses")
    assert_conforms(Response, _raw(response), undeclared=UNDECLARED["response"])
    assert response.parse().output_text

    completion = client.completions.with_raw_response.create(model="gpt-3.5-turbo", prompt="Say hi")
    assert_conforms(Completion, _raw(completion))

    moderation = client.moderations.with_raw_response.create(model="omni-moderation-latest", input="harmless")
    assert_conforms(ModerationCreateResponse, _raw(moderation))

    assert "gpt-4o-mini" in [model.id for model in client.models.list()]

    with client.responses.stream(model="gpt-4o-mini", input="Stream hi") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed" and final.output_text

    with pytest.raises(openai.BadRequestError) as caught:
        with client.responses.stream(model="gpt-4o-mini", input="break [sim:error=400]") as failing:
            list(failing)
    assert caught.value.status_code == 400

    stats = stack.simulator.stats()
    assert stats["duplicate_custom_ids"] == []
    assert stats["lines_submitted"] == 5


async def test_new_endpoints_concurrently_through_the_async_sdk(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=1000)
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", max_retries=0, timeout=120)
    responses = [client.responses.create(model="gpt-4o-mini", input=f"r{i}") for i in range(3)]
    completions = [client.completions.create(model="gpt-3.5-turbo", prompt=f"c{i}") for i in range(3)]
    moderations = [client.moderations.create(model="omni-moderation-latest", input=f"m{i}") for i in range(3)]
    # no model: sent upstream as is, in a batch of its own; the simulator's Batch API, like OpenAI's, wants a
    # model on every line, so only this caller gets the 400 and the moderations naming a model are answered
    unnamed = client.moderations.create(input="no model here")
    results = await asyncio.gather(*responses, *completions, *moderations, unnamed, return_exceptions=True)
    await client.close()
    assert [r.object for r in results[:3]] == ["response"] * 3
    assert [c.object for c in results[3:6]] == ["text_completion"] * 3
    assert all(len(m.results) == 1 for m in results[6:9])
    assert isinstance(results[9], openai.BadRequestError) and results[9].param == "body.model"
    details = stack.simulator.stats()["batch_details"]
    assert sum(d["lines"] for d in details) == 10
    assert all(len(d["models"]) <= 1 for d in details)  # one batch per endpoint and model
