"""The simulated model: a pure function from a request body to its response (status and body).

Answers are deterministic, so a test can compute what any caller must receive:

* chat: ``expected_chat_content(body)`` is derived from the last user message (a digest of it plus
  an excerpt), so different prompts get different answers;
* embeddings: ``expected_embedding(text, dims)`` is a unit vector seeded by the text (float32 values,
  so ``float`` and ``base64`` encodings decode to exactly the same numbers).

The same function answers the synchronous routes and every batch line; ``[sim:error=NNN]`` markers
(see ``simulator.markers``) turn a request into an HTTP error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from batchgpt.simulator.errors import SimError, invalid_request, missing_parameter, model_not_found, status_error
from batchgpt.simulator.ids import derived_hex
from batchgpt.simulator.markers import embedding_inputs, last_user_text, markers_of
from batchgpt.simulator.tokens import chat_prompt_tokens, text_tokens

__all__ = [
    "Answer",
    "CHAT_ENDPOINT",
    "EMBEDDINGS_ENDPOINT",
    "answer",
    "chat_completion",
    "embedding_dimensions",
    "embeddings_response",
    "expected_chat_content",
    "expected_embedding",
    "outcome",
    "request_error",
]

CHAT_ENDPOINT = "/v1/chat/completions"
EMBEDDINGS_ENDPOINT = "/v1/embeddings"

_DEFAULT_DIMENSIONS = {"text-embedding-3-large": 3072}
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


@dataclass(frozen=True)
class Answer:
    """One response of the simulated model."""

    status_code: int
    body: dict[str, object]
    input_tokens: int = 0
    output_tokens: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def _max_output_tokens(body: dict[str, object]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _choice(body: dict[str, object], index: int) -> tuple[str, str]:
    """(content, finish_reason) of choice ``index``."""
    text = last_user_text(body)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    excerpt = " ".join(text.split())[:160]
    content = f"Simulated answer {digest}: {excerpt}"
    if index:
        content += f" (choice {index})"
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema"):
        content = json.dumps({"answer": content})
    limit = _max_output_tokens(body)
    if limit is not None and text_tokens(content) > limit:
        return content[: limit * 4], "length"
    return content, "stop"


def expected_chat_content(body: dict[str, object], choice_index: int = 0) -> str:
    """The assistant content the simulator answers ``body`` with (choice 0 unless told)."""
    return _choice(body, choice_index)[0]


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


def chat_completion(body: dict[str, object], *, completion_id: str, created: int) -> Answer:
    """A 200 ChatCompletion for a checked chat request body."""
    model = str(body["model"])
    n = body.get("n")
    count = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    choices = []
    output_tokens = 0
    for index in range(count):
        content, finish_reason = _choice(body, index)
        output_tokens += text_tokens(content)
        choices.append(
            {
                "index": index,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        )
    prompt_tokens = chat_prompt_tokens(body.get("messages"))
    completion = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": prompt_tokens + output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_" + derived_hex(model, 10),
    }
    return Answer(200, completion, input_tokens=prompt_tokens, output_tokens=output_tokens)


def _embedding_tokens(body: dict[str, object]) -> int:
    """Prompt tokens of an embeddings request (token-array inputs count their tokens)."""
    raw = body.get("input")
    items = raw if isinstance(raw, list) and not all(isinstance(x, int) for x in raw) else [raw]
    total = 0
    for item in items:
        if isinstance(item, list):
            total += len(item)
        elif isinstance(item, str):
            total += text_tokens(item)
    return total


def _encode(vector: list[float]) -> str:
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def embeddings_response(body: dict[str, object]) -> Answer:
    """A 200 embeddings list for a checked embeddings request body."""
    texts = embedding_inputs(body)
    dims = embedding_dimensions(body)
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = expected_embedding(text, dims)
        data.append(
            {"object": "embedding", "index": index, "embedding": _encode(vector) if as_base64 else vector}
        )
    tokens = _embedding_tokens(body)
    response: dict[str, object] = {
        "object": "list",
        "data": data,
        "model": str(body["model"]),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return Answer(200, response, input_tokens=tokens)


def _check_model(body: dict[str, object], model_known: Callable[[str], bool]) -> None:
    model = body.get("model")
    if model is None:
        raise missing_parameter("model")
    if not isinstance(model, str) or not model:
        raise invalid_request(
            "Invalid type for 'model': expected a string.", param="model", code="invalid_type"
        )
    if not model_known(model):
        raise model_not_found(model)


def _check_chat(body: dict[str, object]) -> None:
    messages = body.get("messages")
    if messages is None:
        raise missing_parameter("messages")
    if not isinstance(messages, list):
        raise invalid_request(
            "Invalid type for 'messages': expected an array.", param="messages", code="invalid_type"
        )
    if not messages:
        raise invalid_request(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise invalid_request(
                f"Invalid value for 'messages[{index}].role'.",
                param=f"messages[{index}].role",
                code="invalid_value",
            )
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128):
        raise invalid_request(
            "Invalid 'n': expected an integer from 1 to 128.", param="n", code="invalid_value"
        )


def _check_embeddings(body: dict[str, object]) -> None:
    raw = body.get("input")
    if raw is None:
        raise missing_parameter("input")
    if raw == "" or raw == [] or not embedding_inputs(body):
        raise invalid_request("'$.input' is invalid. Please check the API reference.", param="input")
    if len(embedding_inputs(body)) > 2048:
        raise invalid_request("'$.input' must have at most 2048 items.", param="input", code="invalid_value")
    if body.get("encoding_format", "float") not in ("float", "base64"):
        raise invalid_request(
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )


def _failure(error: SimError) -> Answer:
    return Answer(error.status, error.body(), headers=dict(error.headers))


def request_error(
    endpoint: str, body: object, model_known: Callable[[str], bool] = lambda _: True
) -> SimError | None:
    """The error the model answers ``body`` with (a bad request or a ``[sim:error=NNN]`` marker), if any."""
    if not isinstance(body, dict):
        return invalid_request("The request body must be a JSON object.")
    try:
        _check_model(body, model_known)
        (_check_embeddings if endpoint == EMBEDDINGS_ENDPOINT else _check_chat)(body)
    except SimError as error:
        return error
    markers = markers_of(endpoint, body)
    if markers.error_status is not None and 400 <= markers.error_status <= 599:
        retry_after = 1.0 if markers.error_status in (429, 503) else None
        return status_error(
            markers.error_status,
            code=markers.error_code,
            model=str(body["model"]),
            retry_after_seconds=retry_after,
        )
    return None


def outcome(endpoint: str, body: object) -> tuple[int, int, int]:
    """(status code, input tokens, output tokens) of a request, without building the response."""
    error = request_error(endpoint, body)
    if error is not None or not isinstance(body, dict):
        return (error.status if error else 400), 0, 0
    if endpoint == EMBEDDINGS_ENDPOINT:
        return 200, _embedding_tokens(body), 0
    n = body.get("n")
    count = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    output = sum(text_tokens(_choice(body, index)[0]) for index in range(count))
    return 200, chat_prompt_tokens(body.get("messages")), output


def answer(
    endpoint: str,
    body: object,
    *,
    completion_id: str,
    created: int,
    model_known: Callable[[str], bool] = lambda _: True,
) -> Answer:
    """Answer one request to ``endpoint``: success, 4xx for a bad body, or the error a marker asks for."""
    error = request_error(endpoint, body, model_known)
    if error is not None or not isinstance(body, dict):
        return _failure(error or invalid_request("The request body must be a JSON object."))
    if endpoint == EMBEDDINGS_ENDPOINT:
        return embeddings_response(body)
    return chat_completion(body, completion_id=completion_id, created=created)
