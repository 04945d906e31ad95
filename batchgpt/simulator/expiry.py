"""Expiry policies (``expires_after`` on files, ``output_expires_after`` on batches), checked as OpenAI
checks them: ``{"anchor": "created_at", "seconds": 3600..2592000}``, else a 400 naming the field (pure)."""

from __future__ import annotations

from batchgpt.simulator.errors import invalid_request, missing_parameter, out_of_range

__all__ = ["BATCH_FILE_TTL_SECONDS", "MAX_TTL_SECONDS", "MIN_TTL_SECONDS", "expiry_seconds"]

MIN_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 2_592_000
BATCH_FILE_TTL_SECONDS = MAX_TTL_SECONDS
"""``purpose=batch`` uploads and batch output files without a policy expire after 30 days."""


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def expiry_seconds(anchor: object, seconds: object, *, param: str) -> int:
    """The policy's seconds, or the 400 OpenAI answers (``param`` is the policy's name)."""
    if anchor is None:
        raise missing_parameter(f"{param}.anchor")
    if anchor != "created_at":
        raise invalid_request(
            f"Invalid value: '{anchor}'. Supported values are: 'created_at'.",
            param=f"{param}.anchor",
            code="invalid_value",
        )
    if seconds is None:
        raise missing_parameter(f"{param}.seconds")
    value = _as_int(seconds)
    if value is None:
        raise invalid_request(
            f"Invalid type for '{param}.seconds': expected an integer.", param=f"{param}.seconds", code="invalid_type"
        )
    error = out_of_range(f"{param}.seconds", value, MIN_TTL_SECONDS, MAX_TTL_SECONDS)
    if error is not None:
        raise error
    return value
