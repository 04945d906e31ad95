"""Operational routes: liveness, readiness (Kafka + database), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ingress.http.openapi_bodies import TEXT_RESPONSE
from ingress.http.responses import json_response
from ingress.metrics import IngressMetrics
from ingress.process.readiness import Readiness

__all__ = ["health_router"]


def health_router(readiness: Readiness, metrics: IngressMetrics) -> APIRouter:
    """``/healthz``, ``/readyz`` (``readiness``'s checks) and ``/metrics`` (``metrics``' exposition)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> Response:
        """Always 200 while the process serves HTTP."""
        return json_response({"status": "ok"})

    @router.get(
        "/readyz",
        summary="Kafka and the database are reachable",
        responses={503: {"description": "A dependency is unreachable: the failing checks."}},
    )
    async def readyz() -> Response:
        """200 when every check passes, else 503 with the failing checks."""
        checks = await readiness.check()
        ready = all(value == "ok" for value in checks.values())
        return json_response({"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response, responses=TEXT_RESPONSE)
    async def prometheus() -> Response:
        """The ingress's metrics in the Prometheus text format (summed over its worker processes)."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
