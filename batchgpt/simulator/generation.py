"""What the simulated model writes, as pure functions of the request: prose derived from the prompt,
JSON for a requested format, and truncation at an output-token limit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache

from batchgpt.simulator.ids import derived_hex
from batchgpt.simulator.schema_instances import minimal_instance
from batchgpt.simulator.tokens import text_tokens

__all__ = ["answer_text", "fingerprint", "formatted_text", "int_field", "truncated"]


def int_field(body: Mapping[str, object], *names: str) -> int | None:
    """The first of ``names`` in ``body`` holding a positive integer (booleans are not integers)."""
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@lru_cache(maxsize=256)
def fingerprint(model: str) -> str:
    """The ``system_fingerprint`` of ``model``: ``fp_`` and 10 hex characters, fixed per model."""
    return "fp_" + derived_hex(model, 10)


def answer_text(prompt: str, choice_index: int = 0) -> str:
    """The prose answer to ``prompt``: a digest of it and an excerpt, so different prompts differ."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
    excerpt = " ".join(prompt.split())[:160]
    text = f"Simulated answer {digest}: {excerpt}"
    return text + f" (choice {choice_index})" if choice_index else text


def formatted_text(text: str, kind: object, schema: object) -> str:
    """``text`` in the requested output format: ``json_schema`` gives the schema's minimal instance,
    ``json_object`` a JSON object holding ``text``; anything else leaves it prose."""
    if kind == "json_schema":
        return json.dumps(minimal_instance(schema if isinstance(schema, Mapping) else {}))
    if kind == "json_object":
        return json.dumps({"answer": text})
    return text


def truncated(text: str, limit: int | None) -> tuple[str, bool]:
    """``text`` cut to about ``limit`` tokens, and whether it was cut."""
    if limit is not None and text_tokens(text) > limit:
        return text[: limit * 4], True
    return text, False
