"""What a request body looks like when batch-gpt sends it upstream (pure: no I/O)."""

from __future__ import annotations

from typing import Any

__all__ = ["STRIPPED_FIELDS", "upstream_body"]

STRIPPED_FIELDS: frozenset[str] = frozenset({"stream", "stream_options"})
"""Body fields removed before a call goes upstream: a batch cannot stream, and batch-gpt replays a finished
answer as events itself (a synchronous fallback call is made without streaming for the same reason)."""


def upstream_body(body: dict[str, Any]) -> dict[str, Any]:
    """The request body as it goes upstream: unchanged except that streaming fields are removed."""
    return {key: value for key, value in body.items() if key not in STRIPPED_FIELDS}
