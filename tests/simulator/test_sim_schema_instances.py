"""Pure tests of the simulated model's building blocks: minimal JSON Schema instances, the tool-call
choice, and deterministic logprobs."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Literal

import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from batchgpt.simulator.logprobs import chat_logprobs, legacy_logprobs, token_pieces
from batchgpt.simulator.schema_instances import minimal_instance
from batchgpt.simulator.tokens import text_tokens
from batchgpt.simulator.tool_calls import ToolCall, chosen_call


class Inner(BaseModel):
    when: datetime.datetime
    uid: uuid.UUID
    score: float = Field(gt=0.5, le=10)
    count: int = Field(ge=3, multiple_of=2)


class Outer(BaseModel):
    name: str = Field(min_length=3, pattern=r"^[a-z]+$")
    kind: Literal["first", "second"]
    tags: list[str] = Field(min_length=2)
    inner: Inner
    maybe: Inner | None = None
    pair: tuple[int, str]
    children: list[Outer] = []


@pytest.mark.parametrize("strict", [False, True], ids=["pydantic-schema", "openai-strict-schema"])
def test_minimal_instance_validates_against_the_model(strict: bool) -> None:
    schema = to_strict_json_schema(Outer) if strict else Outer.model_json_schema()
    instance = minimal_instance(schema)
    parsed = Outer.model_validate(instance)
    assert parsed.kind == "first" and len(parsed.tags) == 2 and parsed.inner.count == 4
    assert minimal_instance(schema) == instance  # deterministic
    assert isinstance(instance, dict)
    assert ("maybe" in instance) is strict  # strict schemas require every property


def test_minimal_instance_keywords() -> None:
    assert minimal_instance({"type": "object", "properties": {"a": {"type": "string"}}}) == {}
    assert minimal_instance({"enum": ["x", "y"]}) == "x"
    assert minimal_instance({"const": 7}) == 7
    assert minimal_instance({"anyOf": [{"type": "integer", "minimum": 5}, {"type": "null"}]}) == 5
    assert minimal_instance({"type": ["boolean", "null"]}) is False
    assert minimal_instance({"type": "number", "exclusiveMinimum": 0, "maximum": 1}) > 0
    assert minimal_instance({"type": "integer", "maximum": -3}) == -3
    assert minimal_instance({"type": "string", "format": "email"}) == "user@example.com"
    assert minimal_instance({"type": "array", "minItems": 2, "items": {"type": "integer"}}) == [0, 0]
    assert minimal_instance({"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]}]}) == {"a": 0}
    referenced = {"$defs": {"P": {"type": "object", "required": ["q"], "properties": {"q": {"type": "boolean"}}}}}
    assert minimal_instance({**referenced, "$ref": "#/$defs/P"}) == {"q": False}
    looping = {"type": "object", "required": ["me"], "properties": {"me": {"$ref": "#"}}}
    assert json.dumps(minimal_instance(looping))  # recursion ends


WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [
    {"type": "function", "function": {"name": "weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "time"}},
]


def test_tool_choice_is_honoured() -> None:
    weather = ToolCall("weather", '{"city":""}')
    assert chosen_call(TOOLS, None, nested=True, after_tool_result=False) == weather
    assert chosen_call(TOOLS, "auto", nested=True, after_tool_result=False) == weather
    assert chosen_call(TOOLS, "auto", nested=True, after_tool_result=True) is None
    assert chosen_call(TOOLS, "required", nested=True, after_tool_result=True) == weather
    assert chosen_call(TOOLS, "none", nested=True, after_tool_result=False) is None
    named = {"type": "function", "function": {"name": "time"}}
    assert chosen_call(TOOLS, named, nested=True, after_tool_result=False) == ToolCall("time", "{}")
    flat = [{"type": "function", "name": "weather", "parameters": WEATHER}]
    assert chosen_call(flat, {"type": "function", "name": "weather"}, nested=False, after_tool_result=True) == weather
    assert chosen_call([{"type": "web_search"}], "required", nested=False, after_tool_result=False) is None


def test_logprobs_join_to_the_text_and_count_as_tokens() -> None:
    text = "Simulated answer: the quick brown fox"
    chat = chat_logprobs(text, 3)
    content = chat["content"]
    assert isinstance(content, list) and chat["refusal"] is None
    assert "".join(entry["token"] for entry in content) == text
    assert len(content) == len(token_pieces(text)) == text_tokens(text)
    for entry in content:
        assert entry["bytes"] == list(entry["token"].encode()) and entry["logprob"] <= 0
        tops = entry["top_logprobs"]
        assert len(tops) == 3 and tops[0]["token"] == entry["token"]
        assert [t["logprob"] for t in tops] == sorted((t["logprob"] for t in tops), reverse=True)
    assert chat_logprobs(text, 3) == chat  # deterministic
    legacy = legacy_logprobs(text, 2)
    assert "".join(legacy["tokens"]) == text and len(legacy["token_logprobs"]) == len(legacy["tokens"])
    assert all(len(top) == 2 for top in legacy["top_logprobs"]) and legacy["text_offset"][:2] == [0, 4]
