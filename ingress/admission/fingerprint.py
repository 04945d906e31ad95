"""The fingerprint that recognises "the same request again": sha256 of (tenant, endpoint, body).

The body is serialised canonically (sorted keys, no whitespace), so key order and spacing do not
matter. ``stream`` and ``stream_options`` are left out: they change how the result is presented
to the caller, not the work done upstream (the collator strips them from the batch line), so a
streamed and a non-streamed call with the same body share one batch line.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["PRESENTATION_FIELDS", "fingerprint"]

PRESENTATION_FIELDS = frozenset({"stream", "stream_options"})


def fingerprint(tenant: str, endpoint: str, body: dict[str, Any]) -> str:
    """The 64-hex-digit fingerprint of one caller's request."""
    work = {k: v for k, v in body.items() if k not in PRESENTATION_FIELDS}
    canonical = json.dumps([tenant, endpoint, work], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
