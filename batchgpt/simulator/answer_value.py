"""``Answer``: one response of the simulated model (status, body, token counts, extra headers)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Answer"]


@dataclass(frozen=True)
class Answer:
    """One response of the simulated model."""

    status_code: int
    body: dict[str, object]
    input_tokens: int = 0
    output_tokens: int = 0
    headers: dict[str, str] = field(default_factory=dict)
