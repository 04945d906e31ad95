"""Bytes <-> message models for every topic; the one place both Kafka client libraries agree on bytes."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["CONTENT_TYPE", "DecodeError", "decode", "encode"]

CONTENT_TYPE = "application/json"

M = TypeVar("M", bound=BaseModel)


class DecodeError(ValueError):
    """A message value that is not JSON (``reason='not_json'``) or not the expected shape."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(message: BaseModel) -> bytes:
    """Serialise a message as compact UTF-8 JSON."""
    return message.model_dump_json(exclude_none=False).encode()


def decode(model: type[M], value: bytes | str | None) -> M:
    """Parse and validate one message value; raise :class:`DecodeError` with a reason on failure.

    A well-formed message is parsed and validated in one pass by pydantic's own JSON parser; anything it refuses
    goes through the standard library parser, which decides exactly as before (and names the reason).
    """
    if value is None:
        raise DecodeError("not_json", "the message has no value")
    try:
        return model.model_validate_json(value)
    except ValidationError:
        return _decode_slowly(model, value)


def _decode_slowly(model: type[M], value: bytes | str) -> M:
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError("not_json", str(exc)) from exc
    if not isinstance(data, dict):
        raise DecodeError("invalid_shape", f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors())
        reason = "unknown_endpoint" if any(err["loc"][:1] == ("endpoint",) for err in exc.errors()) else "invalid_shape"
        raise DecodeError(reason, errors) from exc
