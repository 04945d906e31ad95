"""Moderations: one result per input (a list of multimodal parts is one input), every category of the
omni models, low deterministic scores, nothing flagged unless the input says ``[sim:flag=CATEGORY]``
(comma-separated for several, e.g. ``[sim:flag=violence,hate]``)."""

from __future__ import annotations

import hashlib
import re

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.request_checks import DEFAULT_MODERATION_MODEL
from batchgpt.simulator.request_text import content_text, moderation_inputs
from batchgpt.simulator.tokens import text_tokens

__all__ = ["CATEGORIES", "moderation_response"]

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_IMAGE_CATEGORIES = frozenset(
    {"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "violence", "violence/graphic"}
)
_FLAG = re.compile(r"\[sim:flag=([a-z/,-]+)\]")


def _score(text: str, category: str, flagged: bool) -> float:
    fraction = int.from_bytes(hashlib.sha256(f"{category}:{text}".encode()).digest()[:4], "big") / 2**32
    return round(0.9 + 0.09 * fraction, 6) if flagged else round(fraction * 1e-3, 9)


def _result(text: str, has_text: bool, has_image: bool) -> dict[str, object]:
    flags = {name for match in _FLAG.finditer(text) for name in match.group(1).split(",")}
    categories = {name: name in flags for name in CATEGORIES}
    applied = {
        name: (["text"] if has_text else []) + (["image"] if has_image and name in _IMAGE_CATEGORIES else [])
        for name in CATEGORIES
    }
    return {
        "flagged": any(categories.values()),
        "categories": categories,
        "category_scores": {name: _score(text, name, categories[name]) for name in CATEGORIES},
        "category_applied_input_types": applied,
    }


def moderation_response(body: dict[str, object], *, moderation_id: str) -> Answer:
    """A 200 ``ModerationCreateResponse`` for a checked moderations request body."""
    raw = body.get("input")
    if isinstance(raw, list) and raw and all(isinstance(part, dict) for part in raw):
        has_image = any(part.get("type") == "image_url" for part in raw if isinstance(part, dict))
        results = [_result(content_text(raw), bool(content_text(raw)), has_image)]
    else:
        results = [_result(text, True, False) for text in moderation_inputs(body)]
    tokens = sum(text_tokens(text) for text in moderation_inputs(body))
    response: dict[str, object] = {
        "id": moderation_id,
        "model": str(body.get("model") or DEFAULT_MODERATION_MODEL),
        "results": results,
    }
    return Answer(200, response, input_tokens=tokens)
