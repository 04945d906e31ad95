"""The ``service_tier`` an answer reports: the tier asked for when OpenAI serves it as such (pure)."""

from __future__ import annotations

__all__ = ["served_tier"]

_SERVED = frozenset({"default", "flex", "scale", "priority"})
"""Tiers echoed as asked; ``auto`` (and no tier) is served by the ``default`` tier."""


def served_tier(body: dict[str, object]) -> str:
    """The tier that served ``body``: ``flex`` for ``service_tier: "flex"`` (as OpenAI echoes it), else as asked."""
    tier = body.get("service_tier")
    return tier if isinstance(tier, str) and tier in _SERVED else "default"
