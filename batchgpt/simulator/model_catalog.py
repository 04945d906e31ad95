"""The simulator's model list in OpenAI's ``Model`` shape (``GET /v1/models``), or Anthropic's ``ModelInfo`` page
for a caller that sends ``anthropic-version``; pure."""

from __future__ import annotations

from datetime import UTC, datetime

from batchgpt.simulator.errors import SimError
from batchgpt.simulator.ids import derived_hex

__all__ = ["anthropic_model_info", "anthropic_model_list", "model_list", "model_object", "unknown_model"]

_EPOCH = 1_680_000_000  # spring 2023; each model's ``created`` is a fixed offset from it
_SPAN_SECONDS = 100_000_000


def model_object(model_id: str) -> dict[str, object]:
    """``{"id", "object": "model", "created", "owned_by"}`` with a ``created`` fixed per model id."""
    created = _EPOCH + int(derived_hex("model:" + model_id, 8), 16) % _SPAN_SECONDS
    return {"id": model_id, "object": "model", "created": created, "owned_by": "system"}


def model_list(model_ids: tuple[str, ...]) -> dict[str, object]:
    """``{"object": "list", "data": [Model, ...]}``."""
    return {"object": "list", "data": [model_object(model_id) for model_id in model_ids]}


def unknown_model(model_id: str) -> SimError:
    """404 for ``GET /v1/models/{id}`` of a model the simulator does not serve."""
    return SimError(404, f"The model '{model_id}' does not exist", param="model", code="model_not_found")


def anthropic_model_info(model_id: str) -> dict[str, object]:
    """Anthropic's ``ModelInfo`` for ``model_id`` (``created_at`` fixed per model id, as OpenAI's ``created``)."""
    created = int(str(model_object(model_id)["created"]))
    return {
        "type": "model",
        "id": model_id,
        "display_name": model_id.replace("-", " ").title(),
        "created_at": datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z"),
        "lifecycle": "active",
    }


def anthropic_model_list(model_ids: tuple[str, ...]) -> dict[str, object]:
    """Anthropic's ``GET /v1/models`` page: ``ModelInfo`` objects, ``first_id``, ``last_id``, ``has_more``."""
    return {
        "data": [anthropic_model_info(model_id) for model_id in model_ids],
        "has_more": False,
        "first_id": model_ids[0] if model_ids else None,
        "last_id": model_ids[-1] if model_ids else None,
    }
