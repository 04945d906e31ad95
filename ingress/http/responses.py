"""HTTP answers for outcomes: the stored body with its status, or 202 with Location and Retry-After."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from ingress.http.endpoints import fetch_path
from ingress.replies.outcomes import Finished, Pending

__all__ = ["json_response", "pending_body", "pending_response", "result_headers", "result_response"]


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=content, status_code=status_code, headers=headers, media_type="application/json")


def result_headers(result: Finished) -> dict[str, str]:
    """The headers of a finished result's answer, as JSON or as a stream."""
    return {"x-batchgpt-request-id": result.request_id}


def result_response(result: Finished) -> Response:
    """200 with the completion exactly as the reply carried it, or the error with its status."""
    return json_response(result.body, status_code=result.status_code, headers=result_headers(result))


def pending_body(pending: Pending) -> dict[str, Any]:
    """The JSON body of a 202: the request id and its state."""
    return {
        "id": pending.request_id,
        "object": "batchgpt.request",
        "status": pending.state,
        "created": pending.created,
        "endpoint": pending.endpoint,
        "batch_id": pending.batch_id,
    }


def pending_response(pending: Pending, retry_after_seconds: int) -> Response:
    """202 Accepted with ``Location``, ``Retry-After`` and the request's state."""
    headers = {
        "location": fetch_path(pending.endpoint, pending.request_id),
        "retry-after": str(retry_after_seconds),
        "x-batchgpt-request-id": pending.request_id,
    }
    return json_response(pending_body(pending), status_code=202, headers=headers)
