"""Tool calls, structured outputs and logprobs through the official SDK (sync and async), in chat
completions and the Responses API, including the SDK's own ``parse`` helpers."""

from __future__ import annotations

import json
from typing import Literal

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel, Field

from batchgpt.simulator.answers import expected_chat_content, expected_tool_call
from batchgpt.simulator.schema_instances import minimal_instance

from .batch_inputs import chat_body


class Weather(BaseModel):
    city: str
    unit: Literal["celsius", "fahrenheit"]
    days: int = Field(ge=1, le=7)


class Answer(BaseModel):
    title: str
    score: float
    tags: list[str]
    verdict: Literal["yes", "no"]


WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": Weather.model_json_schema()}}
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
MESSAGES = [{"role": "user", "content": "What's the weather in Paris?"}]


def test_chat_tool_call_honours_tool_choice(client: OpenAI) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    auto = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=tools)  # type: ignore[arg-type]
    [choice] = auto.choices
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_") and call.function.name == "get_weather"
    arguments = Weather.model_validate_json(call.function.arguments)
    assert arguments == Weather.model_validate(minimal_instance(Weather.model_json_schema()))
    expected = expected_tool_call("/v1/chat/completions", {"messages": MESSAGES, "tools": tools})
    assert expected is not None and (call.function.name, call.function.arguments) == (expected.name, expected.arguments)

    named = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        tools=tools,  # type: ignore[arg-type]
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert [c.function.name for c in named.choices[0].message.tool_calls or []] == ["get_time"]
    none = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=tools, tool_choice="none")  # type: ignore[arg-type]
    assert none.choices[0].finish_reason == "stop" and none.choices[0].message.tool_calls is None
    assert none.choices[0].message.content == expected_chat_content(chat_body("What's the weather in Paris?"))

    answered = [
        *MESSAGES,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 18}'},
    ]
    after = client.chat.completions.create(model="gpt-4o-mini", messages=answered, tools=tools)  # type: ignore[arg-type]
    assert after.choices[0].finish_reason == "stop" and after.choices[0].message.content  # the loop ends
    forced = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=answered,  # type: ignore[arg-type]
        tools=tools,  # type: ignore[arg-type]
        tool_choice="required",
    )
    assert forced.choices[0].finish_reason == "tool_calls"


def test_chat_tool_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as without_tools:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tool_choice="required")  # type: ignore[arg-type]
    assert without_tools.value.param == "tool_choice"
    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            tools=[TIME_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert unknown.value.param == "tool_choice"


def test_chat_parse_helpers_round_trip(client: OpenAI) -> None:
    parsed = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=MESSAGES,
        tools=[openai.pydantic_function_tool(Weather)],  # type: ignore[arg-type]
    )
    [call] = parsed.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Weather) and call.function.parsed_arguments.days == 1
    structured = client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Answer)  # type: ignore[arg-type]
    answer = structured.choices[0].message.parsed
    assert isinstance(answer, Answer) and answer.verdict == "yes"
    json_object = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        response_format={"type": "json_object"},  # type: ignore[arg-type]
    )
    assert isinstance(json.loads(json_object.choices[0].message.content or ""), dict)


def test_chat_stream_replays_tool_calls(client: OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-4o-mini",
        messages=MESSAGES,
        tools=[openai.pydantic_function_tool(Weather)],  # type: ignore[arg-type]
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls" and isinstance(call.function.parsed_arguments, Weather)


def test_chat_logprobs(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        logprobs=True,
        top_logprobs=3,  # type: ignore[arg-type]
    )
    choice = completion.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    tokens = choice.logprobs.content
    assert "".join(t.token for t in tokens) == choice.message.content
    assert completion.usage is not None and len(tokens) == completion.usage.completion_tokens
    assert all(len(t.top_logprobs) == 3 and t.top_logprobs[0].token == t.token for t in tokens)
    assert all(t.bytes == list(t.token.encode()) and t.logprob <= 0 for t in tokens)
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            logprobs=True,
            stream=True,  # type: ignore[arg-type]
        )
    )
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content or []]
    assert [t.token for t in streamed] == [t.token for t in tokens]
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert plain.choices[0].logprobs is None
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, top_logprobs=2)  # type: ignore[arg-type]


RESPONSE_TOOL = {"type": "function", "name": "get_weather", "parameters": Weather.model_json_schema()}


def test_responses_function_call_and_structured_output(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="Weather in Rome?", tools=[RESPONSE_TOOL])  # type: ignore[list-item]
    [item] = response.output
    assert item.type == "function_call" and item.name == "get_weather" and item.call_id.startswith("call_")
    assert item.id is not None and item.id.startswith("fc_") and item.status == "completed"
    Weather.model_validate_json(item.arguments)
    tool = response.tools[0]
    assert tool.type == "function" and tool.name == "get_weather" and tool.strict is True
    follow_up = client.responses.create(
        model="gpt-4.1",
        input=[
            {"role": "user", "content": "Weather in Rome?"},
            {"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": item.arguments},
            {"type": "function_call_output", "call_id": item.call_id, "output": '{"temperature": 21}'},
        ],
        tools=[RESPONSE_TOOL],  # type: ignore[list-item]
    )
    assert follow_up.output[0].type == "message" and follow_up.output_text
    parsed = client.responses.parse(model="gpt-4.1", input="Judge this.", text_format=Answer)
    assert isinstance(parsed.output_parsed, Answer) and parsed.output_parsed.verdict == "yes"
    logprobs = client.responses.create(
        model="gpt-4.1", input="hi", include=["message.output_text.logprobs"], top_logprobs=2
    )
    part = logprobs.output[0].content[0]  # type: ignore[union-attr]
    assert part.type == "output_text" and part.logprobs
    assert "".join(lp.token for lp in part.logprobs) == part.text and len(part.logprobs[0].top_logprobs) == 2


async def test_async_tool_calls_and_structured_outputs(aclient: AsyncOpenAI) -> None:
    parsed = await aclient.chat.completions.parse(
        model="gpt-4o",
        messages=MESSAGES,
        tools=[openai.pydantic_function_tool(Weather)],  # type: ignore[arg-type]
    )
    [call] = parsed.choices[0].message.tool_calls or []
    assert isinstance(call.function.parsed_arguments, Weather)
    response = await aclient.responses.parse(model="gpt-4o", input="Judge.", text_format=Answer)
    assert isinstance(response.output_parsed, Answer)
    async with aclient.responses.stream(model="gpt-4o", input="Weather?", tools=[RESPONSE_TOOL]) as stream:  # type: ignore[list-item]
        events = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.function_call_arguments.done" in events and final.output[0].type == "function_call"
