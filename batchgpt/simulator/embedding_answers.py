"""Embeddings: ``expected_embedding(text, dims)`` is a unit vector seeded by the text (float32 values, so
``float`` and ``base64`` encodings decode to exactly the same numbers)."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import sys
from array import array

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.request_text import embedding_inputs
from batchgpt.simulator.tokens import input_tokens

__all__ = ["embedding_dimensions", "embeddings_response", "expected_embedding"]

_DEFAULT_DIMENSIONS = {"text-embedding-3-large": 3072}


def expected_embedding(text: str, dims: int = 1536) -> list[float]:
    """The unit-length, float32-exact embedding vector the simulator gives ``text``."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return array("f", (v / norm for v in values)).tolist()


def embedding_dimensions(body: dict[str, object]) -> int:
    """The vector length for an embeddings request: ``dimensions`` if given, else the model's default."""
    dims = body.get("dimensions")
    if isinstance(dims, int) and not isinstance(dims, bool) and dims > 0:
        return dims
    return _DEFAULT_DIMENSIONS.get(str(body.get("model")), 1536)


def _encode(vector: list[float]) -> str:
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def embeddings_response(body: dict[str, object]) -> Answer:
    """A 200 embeddings list for a checked embeddings request body."""
    dims = embedding_dimensions(body)
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(embedding_inputs(body)):
        vector = expected_embedding(text, dims)
        data.append({"object": "embedding", "index": index, "embedding": _encode(vector) if as_base64 else vector})
    tokens = input_tokens(body.get("input"))
    response: dict[str, object] = {
        "object": "list",
        "data": data,
        "model": str(body["model"]),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return Answer(200, response, input_tokens=tokens)
