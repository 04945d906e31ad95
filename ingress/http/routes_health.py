"""Operational routes: liveness, readiness (Kafka + database), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ingress.http.deps import RuntimeDep
from ingress.http.responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    """Always 200 while the process serves HTTP."""
    return json_response({"status": "ok"})


@router.get("/readyz", summary="Kafka and the database are reachable")
async def readyz(runtime: RuntimeDep) -> Response:
    """200 when every check passes, else 503 with the failing checks."""
    checks = await runtime.readiness()
    ready = all(value == "ok" for value in checks.values())
    return json_response({"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    """This app's metrics in the Prometheus text format."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
