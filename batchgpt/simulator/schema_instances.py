"""A minimal valid instance of a JSON Schema: pure and deterministic.

The simulated model answers a function's ``parameters`` and a ``json_schema`` response format with it:
required properties only (more when ``minProperties`` asks), the first listed type, the first ``enum``
value, ``const``, the first branch of ``anyOf``/``oneOf``, ``allOf`` merged, local ``$ref`` followed,
and the smallest string, number or array the bounds allow (``minLength``/``maxLength``, ``minimum``,
``exclusiveMinimum``, ``multipleOf``, ``minItems``, ``prefixItems``, common ``format`` values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["minimal_instance"]

_MAX_DEPTH = 32
_FORMATS = {
    "date-time": "1970-01-01T00:00:00Z",
    "date": "1970-01-01",
    "time": "00:00:00Z",
    "duration": "PT0S",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
_PATTERN_CANDIDATES = ("", "a", "0", "A", "a0", "aaa", "000", "example")


def _resolve(ref: str, root: Mapping[str, object]) -> Mapping[str, object]:
    if not ref.startswith("#"):
        return {}
    node: object = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            return {}
        node = node[key]
    return node if isinstance(node, Mapping) else {}


def _merged(schemas: list[object]) -> dict[str, object]:
    merged: dict[str, object] = {}
    properties: dict[str, object] = {}
    required: list[str] = []
    for schema in schemas:
        if not isinstance(schema, Mapping):
            continue
        for key, value in schema.items():
            if key == "properties" and isinstance(value, Mapping):
                properties.update(value)
            elif key == "required" and isinstance(value, list):
                required += [name for name in value if name not in required]
            else:
                merged.setdefault(key, value)
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _kind(schema: Mapping[str, object]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = declared[0] if declared else None
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if "minLength" in schema or "pattern" in schema or "format" in schema:
        return "string"
    if "minimum" in schema or "maximum" in schema or "multipleOf" in schema:
        return "number"
    return "null"


def _number(schema: Mapping[str, object], integer: bool) -> int | float:
    low: float | None = None
    minimum, exclusive = schema.get("minimum"), schema.get("exclusiveMinimum")
    if isinstance(minimum, int | float) and not isinstance(minimum, bool):
        low = float(minimum)
    if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
        step = 1.0 if integer else max(abs(float(exclusive)) * 1e-9, 1e-9)
        bound = math.floor(exclusive) + 1.0 if integer else float(exclusive) + step
        low = bound if low is None else max(low, bound)
    value = 0.0 if low is None or low < 0 and _fits_zero(schema) else low
    maximum = schema.get("maximum")
    if isinstance(maximum, int | float) and not isinstance(maximum, bool) and value > maximum:
        value = float(maximum)
    exclusive_max = schema.get("exclusiveMaximum")
    if isinstance(exclusive_max, int | float) and not isinstance(exclusive_max, bool) and value >= exclusive_max:
        value = float(exclusive_max) - 1.0 if integer else float(exclusive_max) - 1e-9
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and not isinstance(multiple, bool) and multiple > 0:
        value = math.ceil(value / multiple) * float(multiple)
    if integer:
        return math.ceil(value)
    return int(value) if value == int(value) else value


def _fits_zero(schema: Mapping[str, object]) -> bool:
    maximum, exclusive_max = schema.get("maximum"), schema.get("exclusiveMaximum")
    if isinstance(maximum, int | float) and maximum < 0:
        return False
    return not (isinstance(exclusive_max, int | float) and exclusive_max <= 0)


def _string(schema: Mapping[str, object]) -> str:
    fmt = schema.get("format")
    value = _FORMATS.get(fmt, "") if isinstance(fmt, str) else ""
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        value += "a" * (min_length - len(value))
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and len(value) > max_length:
        value = value[:max_length]
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error:
            return value
        if not compiled.search(value):
            for candidate in _PATTERN_CANDIDATES:
                padded = candidate + "a" * max(0, (min_length if isinstance(min_length, int) else 0) - len(candidate))
                if compiled.search(padded):
                    return padded
    return value


def _object(schema: Mapping[str, object], root: Mapping[str, object], depth: int) -> dict[str, object]:
    declared = schema.get("properties")
    properties: Mapping[str, object] = declared if isinstance(declared, Mapping) else {}
    required = schema.get("required")
    names = [name for name in required if isinstance(name, str)] if isinstance(required, list) else []
    min_properties = schema.get("minProperties")
    if isinstance(min_properties, int):
        names += [name for name in properties if name not in names][: max(0, min_properties - len(names))]
    extra = schema.get("additionalProperties")
    result: dict[str, object] = {}
    for name in names:
        sub = properties.get(name, extra if isinstance(extra, Mapping) else {})
        result[name] = _instance(sub, root, depth + 1)
    return result


def _array(schema: Mapping[str, object], root: Mapping[str, object], depth: int) -> list[object]:
    prefix = schema.get("prefixItems")
    items = [_instance(sub, root, depth + 1) for sub in prefix] if isinstance(prefix, list) else []
    min_items = schema.get("minItems")
    item_schema = schema.get("items")
    while isinstance(min_items, int) and len(items) < min_items:
        items.append(_instance(item_schema if isinstance(item_schema, Mapping) else {}, root, depth + 1))
    return items


def _instance(schema: object, root: Mapping[str, object], depth: int) -> object:
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        return _instance(_merged([_resolve(ref, root), rest]) if rest else _resolve(ref, root), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            rest = {k: v for k, v in schema.items() if k != key}
            return _instance(_merged([branches[0], rest]), root, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return _instance(_merged([*all_of, rest]), root, depth + 1)
    kind = _kind(schema)
    if kind == "object":
        return _object(schema, root, depth)
    if kind == "array":
        return _array(schema, root, depth)
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "boolean":
        return False
    return None


def minimal_instance(schema: Mapping[str, object]) -> object:
    """The minimal valid instance of ``schema`` (local ``$ref``s resolve against ``schema`` itself)."""
    return _instance(schema, schema, 0)
