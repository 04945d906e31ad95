"""HTTP answers for outcomes: the stored body with its status, or 202 with Location and Retry-After.

Every answer about a request names it: ``batchgpt-request-id`` is batch-gpt's id (the ``{id}`` of
``GET /v1/<endpoint>/{id}``; also sent as ``x-batchgpt-request-id``, its former name), and
``x-request-id`` is the provider's request id of the batch line that answered it (what the OpenAI SDK
exposes as ``_request_id`` and what OpenAI's support asks for), or batch-gpt's id when no line ran.
An error result carries its retry hint (:mod:`ingress.replies.retry_hints`).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from ingress.errors import IngressError
from ingress.http.endpoints import fetch_path
from ingress.replies.outcomes import Finished, Pending
from ingress.replies.retry_hints import error_code, retry_headers

__all__ = [
    "error_response",
    "id_headers",
    "json_response",
    "pending_body",
    "pending_response",
    "result_headers",
    "result_response",
]


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=content, status_code=status_code, headers=headers, media_type="application/json")


def id_headers(request_id: str, upstream_request_id: str | None = None) -> dict[str, str]:
    """The headers naming a request: ours in ``batchgpt-request-id``, the provider's in ``x-request-id``."""
    return {
        "batchgpt-request-id": request_id,
        "x-batchgpt-request-id": request_id,
        "x-request-id": upstream_request_id or request_id,
    }


def result_headers(result: Finished) -> dict[str, str]:
    """The ids of a finished result's answer, as JSON or as a stream."""
    return id_headers(result.request_id, result.upstream_request_id)


def result_response(result: Finished, retry_after_seconds: int) -> Response:
    """200 with the completion exactly as the reply carried it, or the error with its status and retry hint."""
    headers = result_headers(result)
    if not result.ok:
        headers.update(retry_headers(result.status_code, error_code(result.body), retry_after_seconds))
    return json_response(result.body, status_code=result.status_code, headers=headers)


def error_response(error: IngressError, request_id: str | None = None) -> Response:
    """The error envelope of ``error`` with its headers (and the ids of the request it is about, if any)."""
    headers = error.headers()
    if request_id is not None:
        headers.update(id_headers(request_id))
    return json_response(error.envelope(), status_code=error.status_code, headers=headers)


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
        **id_headers(pending.request_id),
    }
    return json_response(pending_body(pending), status_code=202, headers=headers)
