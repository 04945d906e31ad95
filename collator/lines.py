"""JSONL lines of a batch input file, one per request (pure: no I/O)."""

from __future__ import annotations

import json
from typing import Any

from schemas.messages import RequestMessage

__all__ = ["STRIPPED_FIELDS", "jsonl_line", "upstream_body"]

STRIPPED_FIELDS: frozenset[str] = frozenset({"stream", "stream_options"})
"""Body fields the Batch API refuses (a batch cannot stream); everything else passes through unchanged."""


def upstream_body(body: dict[str, Any]) -> dict[str, Any]:
    """The request body as it goes upstream: unchanged except that streaming fields are removed."""
    return {key: value for key, value in body.items() if key not in STRIPPED_FIELDS}


def jsonl_line(request: RequestMessage) -> bytes:
    """One batch input line (newline-terminated UTF-8): ``custom_id`` is the request id."""
    line = {
        "custom_id": request.request_id,
        "method": "POST",
        "url": request.endpoint.value,
        "body": upstream_body(request.body),
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
