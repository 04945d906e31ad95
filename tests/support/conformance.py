"""Checks an object batch-gpt returns against the official SDK's own pydantic types, field by field.

``assert_conforms(Type, raw)`` validates ``raw`` (the JSON as received) with the SDK type, fails on any
field the type does not declare (the SDK's models accept and keep unknown fields, so an extra or
misspelt field would otherwise pass), and compares the model dumped back (``exclude_unset``, by alias)
with ``raw``: nothing dropped, renamed or coerced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from typing import Any

from pydantic import BaseModel, TypeAdapter

__all__ = ["UNDECLARED", "assert_conforms", "sse_data", "undeclared_in", "unparsed"]

UNDECLARED: dict[str, tuple[str, ...]] = {
    # OpenAI streams a message's url citations in a chunk's delta; the SDK's ChoiceDelta does not declare
    # the field, but its stream accumulator copies every delta field into the message, which does.
    "chat.completion.chunk": ("$.choices[].delta.annotations",),
    # OpenAI's Response object carries ``store`` (its API reference shows it); the SDK's type does not declare it.
    "response": ("$.store",),
}
"""Per object type: the fields OpenAI sends that the SDK's type does not declare."""


def undeclared_in(raw: Any) -> tuple[str, ...]:
    """The undeclared fields ``raw`` may carry: its object type's, or (a Responses stream event) its response's."""
    if not isinstance(raw, dict):
        return ()
    allowed = UNDECLARED.get(str(raw.get("object", "")), ())
    inner = raw.get("response")
    if isinstance(inner, dict):
        allowed += tuple(f"$.response{path[1:]}" for path in UNDECLARED.get(str(inner.get("object", "")), ()))
    return allowed


def _extras(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for name in value.model_extra or {}:
            yield f"{path}.{name}"
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _extras(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _extras(item, f"{path}.{key}")


def assert_conforms(sdk_type: Any, raw: Any, *, undeclared: Collection[str] | None = None) -> Any:
    """Validate ``raw`` as ``sdk_type`` strictly (no undeclared field, nothing lost); return the parsed value.

    ``undeclared`` names the fields OpenAI sends although the SDK's type does not declare them, as paths
    with ``[]`` for any list index (e.g. ``$.choices[].delta.annotations``); by default those of
    :data:`UNDECLARED` for ``raw``'s object type (:func:`undeclared_in`).
    """
    undeclared = undeclared_in(raw) if undeclared is None else undeclared
    adapter: TypeAdapter[Any] = TypeAdapter(sdk_type)
    parsed = adapter.validate_python(raw)
    extras = [path for path in _extras(parsed, "$") if re.sub(r"\[\d+\]", "[]", path) not in undeclared]
    assert not extras, f"fields the SDK's {sdk_type} does not declare: {extras}"
    dumped = adapter.dump_python(parsed, mode="json", by_alias=True, exclude_unset=True)
    assert dumped == json.loads(json.dumps(raw)), f"{sdk_type} does not round-trip:\n{dumped}\n!=\n{raw}"
    return parsed


def sse_data(text: str) -> list[tuple[str | None, str]]:
    """``(event name, data)`` of each server-sent event in ``text``."""
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        if data:
            events.append((name, "\n".join(data)))
    return events


def unparsed(value: Any) -> Any:
    """A dumped SDK object without the ``parsed`` fields its stream helpers' parsed types add."""
    if isinstance(value, dict):
        return {k: unparsed(v) for k, v in value.items() if k not in ("parsed", "parsed_arguments")}
    if isinstance(value, list):
        return [unparsed(v) for v in value]
    return value
