"""Shape checks against the official SDK's pydantic types: every object validates, field by field.

``assert_conforms(Model, data)`` validates ``data`` with ``Model.model_validate`` (so required fields,
types, literals and discriminated unions are checked) and then walks the result: any key that is not a
field of its model (it would land in ``model_extra``) fails the check, so a misspelt or invented field
cannot hide. ``EXTRA_FIELDS`` lists the few keys OpenAI sends that the SDK does not declare.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

EXTRA_FIELDS = frozenset({"store"})  # Response.store: sent by the API, not declared in the SDK type


def _undeclared(value: object, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        extras = set(value.model_extra or {}) - EXTRA_FIELDS
        found += [f"{path}.{name}" for name in sorted(extras)]
        for name in type(value).model_fields:
            found += _undeclared(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += _undeclared(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _undeclared(item, f"{path}.{key}")
    return found


def assert_conforms(model: type[M], data: Any) -> M:
    """``data`` validated as ``model``, with no undeclared field anywhere inside."""
    parsed = model.model_validate(data)
    undeclared = _undeclared(parsed, model.__name__)
    assert not undeclared, f"fields the SDK does not declare: {undeclared}"
    return parsed
