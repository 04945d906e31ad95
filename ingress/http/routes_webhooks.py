"""``POST /webhooks/openai``: OpenAI's webhook events, verified (Standard Webhooks, ``OPENAI_WEBHOOK_SECRET``) and
answered at once; a ``batch.*`` event about one of our batches makes the resolver look at it now.

* a bad, missing or stale signature (a timestamp more than 5 minutes off: a replay): 400 in OpenAI's envelope,
  code ``invalid_signature``, and nothing changes;
* a valid event of another type, or about a batch that is not ours: 200, ignored;
* a valid ``batch.*`` event: 200 once the wake-up is on Kafka (a database or Kafka outage: 503, re-delivered).

The route exists only when ``OPENAI_WEBHOOK_SECRET`` is set (see :func:`ingress.http.app.create_app`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import SecretStr

from batchgpt.webhooks.signing import SignatureInvalid, verify
from ingress.errors import InvalidRequest
from ingress.http.openapi_bodies import ERROR_RESPONSES
from ingress.http.request_reading import read_body
from ingress.http.responses import json_response
from ingress.metrics import IngressMetrics
from ingress.upstream_notices import UpstreamNotices, read_notice

__all__ = ["webhooks_router"]


def webhooks_router(
    secret: SecretStr, notices: UpstreamNotices, metrics: IngressMetrics, *, max_body_bytes: int
) -> APIRouter:
    """The inbound webhook route, verifying with ``secret`` and publishing through ``notices``."""
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/webhooks/openai",
        summary="OpenAI webhook events (batch.completed, batch.failed, batch.expired, batch.cancelled)",
        responses={status: ERROR_RESPONSES[status] for status in (400, 413, 503)},
    )
    async def openai_webhook(request: Request) -> Response:
        """Verify the Standard Webhooks signature, then act on a ``batch.*`` event about one of our batches."""
        body = await read_body(request.receive, request.headers.get("content-length"), max_body_bytes)
        try:
            event = verify(secret.get_secret_value(), body, request.headers)
        except SignatureInvalid as exc:
            metrics.webhooks_received.labels("invalid_signature").inc()
            raise InvalidRequest(
                f"The webhook signature could not be verified: {exc}.", param=None, code="invalid_signature"
            ) from None
        notice = read_notice(event)
        outcome = "ignored"
        if notice is not None and await notices.publish(notice) is not None:
            outcome = "notified"
        metrics.webhooks_received.labels(outcome).inc()
        return json_response({"received": True})

    return router
