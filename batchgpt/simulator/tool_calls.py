"""Deterministic function calls: which function the simulated model calls, and with which arguments.

``tool_choice`` is honoured: ``none`` answers text; ``required`` calls the first function; a named
function (``{"type": "function", "function": {"name": ...}}`` in chat, ``{"type": "function", "name":
...}`` in the Responses API) calls that one; ``auto`` (the default when tools are given) calls the first
function unless the conversation already ends with a tool result, so an agent loop ends with text.
Arguments are the minimal valid instance of the function's ``parameters`` schema, as compact JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from batchgpt.simulator.schema_instances import minimal_instance

__all__ = ["FunctionSpec", "ToolCall", "call_for_request", "chosen_call", "function_specs", "named_choice"]


@dataclass(frozen=True)
class FunctionSpec:
    """One function tool: its name and parameters schema."""

    name: str
    parameters: Mapping[str, object]


@dataclass(frozen=True)
class ToolCall:
    """The call the model makes: a function name and its JSON arguments."""

    name: str
    arguments: str


def function_specs(tools: object, *, nested: bool) -> list[FunctionSpec]:
    """The function tools of a request (chat nests them under ``function``; the Responses API does not)."""
    specs: list[FunctionSpec] = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        definition = tool.get("function") if nested else tool
        if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
            continue
        parameters = definition.get("parameters")
        specs.append(FunctionSpec(definition["name"], parameters if isinstance(parameters, dict) else {}))
    return specs


def named_choice(tool_choice: object, *, nested: bool) -> str | None:
    """The function a ``tool_choice`` object names, if it names one."""
    if not isinstance(tool_choice, dict) or tool_choice.get("type") != "function":
        return None
    holder = tool_choice.get("function") if nested else tool_choice
    name = holder.get("name") if isinstance(holder, dict) else None
    return name if isinstance(name, str) else None


def _arguments(spec: FunctionSpec) -> str:
    schema = spec.parameters or {"type": "object", "properties": {}}
    instance = minimal_instance(schema)
    return json.dumps(instance if instance is not None else {}, separators=(",", ":"))


def chosen_call(tools: object, tool_choice: object, *, nested: bool, after_tool_result: bool) -> ToolCall | None:
    """The call the model makes for these ``tools`` and ``tool_choice``, or None to answer with text."""
    specs = function_specs(tools, nested=nested)
    if not specs or tool_choice == "none":
        return None
    name = named_choice(tool_choice, nested=nested)
    if name is not None:
        chosen = next((spec for spec in specs if spec.name == name), None)
        return ToolCall(name, _arguments(chosen)) if chosen else None
    if tool_choice != "required" and after_tool_result:
        return None
    return ToolCall(specs[0].name, _arguments(specs[0]))


def call_for_request(body: Mapping[str, object], *, responses_api: bool) -> ToolCall | None:
    """The call the model makes for a chat (``responses_api=False``) or Responses request body."""
    items = body.get("input" if responses_api else "messages")
    last = items[-1] if isinstance(items, list) and items and isinstance(items[-1], dict) else {}
    if responses_api:
        after_tool_result = last.get("type") == "function_call_output"
    else:
        after_tool_result = last.get("role") in ("tool", "function")
    return chosen_call(
        body.get("tools"), body.get("tool_choice"), nested=not responses_api, after_tool_result=after_tool_result
    )
