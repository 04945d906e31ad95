"""Tool calls, structured outputs and logprobs end to end: the official SDK (sync and async) against batch-gpt,
through the real pipeline to the simulator's Batch API and back, each parsed by the SDK's own helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import pytest
from openai import AsyncOpenAI, OpenAI, pydantic_function_tool
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_tool_call
from tests.support.conformance import assert_conforms

pytestmark = pytest.mark.integration

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}


class Forecast(BaseModel):
    city: str
    unit: Literal["celsius", "fahrenheit"]
    days: int


def _client(stack: Stack) -> OpenAI:
    return OpenAI(base_url=stack.base_url, api_key="sk-any", timeout=120)


def test_chat_tool_calls_structured_outputs_and_logprobs(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=300)
    client = _client(stack)
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Oslo?"}]
    tools: list[Any] = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]

    called = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    expected = expected_tool_call(CHAT, {"model": "gpt-4o-mini", "messages": messages, "tools": tools})
    assert expected is not None and call.type == "function"
    assert (call.function.name, call.function.arguments) == (expected.name, expected.arguments)
    arguments = json.loads(call.function.arguments)
    assert set(arguments) == {"city", "unit", "days"} and arguments["unit"] in ("celsius", "fahrenheit")

    # the agent loop's next turn: the tool's result goes back, the model answers with text
    follow_up = [
        *messages,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": -3}'},
    ]
    answered = client.chat.completions.create(model="gpt-4o-mini", messages=follow_up, tools=tools)
    assert answered.choices[0].finish_reason == "stop" and answered.choices[0].message.content

    # a forced choice of a pydantic tool, parsed by the SDK into the tool's model
    forced = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=messages,
        tools=[pydantic_function_tool(Forecast, name="forecast")],
        tool_choice={"type": "function", "function": {"name": "forecast"}},
    )
    [parsed_call] = forced.choices[0].message.tool_calls or []
    assert isinstance(parsed_call.function.parsed_arguments, Forecast)

    # structured output: the content validates against the schema the SDK derived from the model
    structured = client.chat.completions.parse(model="gpt-4o-mini", messages=messages, response_format=Forecast)
    assert isinstance(structured.choices[0].message.parsed, Forecast)

    # logprobs, as asked
    with_logprobs = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages, logprobs=True, top_logprobs=2
    )
    raw = with_logprobs.http_response.json()
    content = raw["choices"][0]["logprobs"]["content"]
    assert content and all(len(token["top_logprobs"]) == 2 for token in content)
    assert_conforms(ChatCompletion, raw)

    stats = stack.simulator.stats()
    assert stats["duplicate_custom_ids"] == [] and stats["lines_submitted"] == 5


async def test_responses_function_calls_and_structured_outputs_async(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=300)
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", timeout=120)
    tools: list[Any] = [{"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": True}]
    body = {"model": "gpt-4o-mini", "input": "Weather in Lima?", "tools": tools}
    try:
        called = await client.responses.create(model="gpt-4o-mini", input="Weather in Lima?", tools=tools)
        calls = [item for item in called.output if item.type == "function_call"]
        expected = expected_tool_call(RESPONSES, body)
        assert expected is not None and len(calls) == 1
        assert (calls[0].name, calls[0].arguments) == (expected.name, expected.arguments)

        parsed = await client.responses.parse(model="gpt-4o-mini", input="Forecast for Lima", text_format=Forecast)
        assert isinstance(parsed.output_parsed, Forecast)

        async with client.responses.stream(model="gpt-4o-mini", input="Weather in Lima?", tools=tools) as stream:
            kinds = [event.type async for event in stream]
            final = await stream.get_final_response()
        assert "response.function_call_arguments.done" in kinds
        assert [item.type for item in final.output] == ["function_call"]
    finally:
        await client.close()
