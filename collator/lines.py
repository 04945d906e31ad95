"""JSONL lines of a batch input file, one per request (pure: no I/O)."""

from __future__ import annotations

import json

from batchgpt.upstream.bodies import STRIPPED_FIELDS, upstream_body
from schemas.messages import RequestMessage

__all__ = ["STRIPPED_FIELDS", "jsonl_line", "upstream_body"]


def jsonl_line(request: RequestMessage) -> bytes:
    """One batch input line (newline-terminated UTF-8): ``custom_id`` is the request id."""
    line = {
        "custom_id": request.request_id,
        "method": "POST",
        "url": request.endpoint.value,
        "body": upstream_body(request.body),
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
