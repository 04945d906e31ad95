"""When a finished identical request may answer a new call (``BATCHGPT_CACHE``). Pure.

* ``off``: never.
* ``deterministic`` (default): only when the answer does not depend on sampling: embeddings and
  moderations, and any call with ``temperature: 0``. Two calls at ``temperature: 1`` are two samples.
* ``on``: every identical request.

``Cache-Control: no-cache`` (or ``no-store``) on the call bypasses it, and only a *successful* result is
ever served (a 429 or 5xx is transient and must not be replayed; the admission checks the result).
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["CACHE_MODES", "SAMPLING_FREE_ENDPOINTS", "CacheMode", "is_deterministic", "may_serve_stored"]

CacheMode = Literal["off", "deterministic", "on"]
CACHE_MODES: tuple[CacheMode, ...] = ("off", "deterministic", "on")

SAMPLING_FREE_ENDPOINTS = frozenset({"/v1/embeddings", "/v1/moderations"})
"""Endpoints whose answer never depends on sampling."""


def is_deterministic(endpoint: str, body: dict[str, Any]) -> bool:
    """Whether the same request always gets the same answer (no sampling involved)."""
    if endpoint in SAMPLING_FREE_ENDPOINTS:
        return True
    temperature = body.get("temperature")
    return isinstance(temperature, int | float) and not isinstance(temperature, bool) and temperature == 0


def may_serve_stored(mode: CacheMode, endpoint: str, body: dict[str, Any], *, bypass: bool) -> bool:
    """Whether a finished successful identical request may answer this call."""
    if bypass or mode == "off":
        return False
    return mode == "on" or is_deterministic(endpoint, body)
