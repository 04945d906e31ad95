"""The dashboard: its page (``GET /dashboard``, static HTML, JS and CSS shipped in the package) and the JSON
figures it polls (``GET /v1/dashboard/summary``, ``/v1/dashboard/batches``, ``/v1/dashboard/batches/{id}``)."""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy import Engine

from batchgpt.pricing import PriceTable
from batchgpt.store import batches, dashboard
from ingress.dashboard.access import DashboardAccess, View
from ingress.dashboard.figures import batch_detail, batch_view, error_counts, requests_by_state, window_totals
from ingress.dashboard.views import BatchDetail, BatchPage, Summary, Totals
from ingress.errors import NotFound
from ingress.http.deps import BEARER
from ingress.http.openapi_bodies import ERROR_RESPONSES
from ingress.http.responses import json_response

__all__ = ["dashboard_router"]

HOUR_S = 3600.0
DAY_S = 86400.0
DETAIL_ANSWERS = 200
"""Most answers a batch's detail view lists (failed ones first)."""

_PAGE_FILES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
"""The page loads nothing but its own files (it works offline) and may not be framed."""


def _page_file(name: str) -> bytes:
    return resources.files("ingress.dashboard").joinpath("page", name).read_bytes()


def _documented(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model}, **{k: v for k, v in ERROR_RESPONSES.items() if k in (400, 401, 404)}}


def _summary(engine: Engine, view: View, prices: PriceTable, now: float) -> Summary:
    tenant = view.tenant
    windows = {
        name: window_totals(dashboard.usage_groups(engine, tenant=tenant, since=since), prices)
        for name, since in (("hour", now - HOUR_S), ("day", now - DAY_S), ("all_time", None))
    }
    return Summary(
        scope=view.scope,
        tenant=tenant,
        generated_at=now,
        requests_by_state=requests_by_state(dashboard.requests_by_state(engine, tenant=tenant)),
        errors_by_code=error_counts(dashboard.failed_bodies(engine, tenant=tenant)),
        totals=Totals(**windows),
    )


def _page(engine: Engine, view: View, prices: PriceTable, after: str | None, limit: int, now: float) -> BatchPage:
    rows, has_more = batches.list_batches(engine, tenant=view.tenant, after=after, limit=limit)
    data = [batch_view(row, prices, now) for row in rows]
    return BatchPage(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=has_more,
    )


def _detail(engine: Engine, view: View, prices: PriceTable, batch_id: str, now: float) -> BatchDetail | None:
    row = batches.get_batch(engine, tenant=view.tenant, batch_id=batch_id)
    if row is None:
        return None
    answers = dashboard.batch_answers(engine, batch_id=batch_id, limit=DETAIL_ANSWERS)
    return batch_detail(row, answers, prices, now)


def dashboard_router(engine: Engine, access: DashboardAccess, prices: PriceTable) -> APIRouter:
    """The page and the figures of the callers ``access`` authenticates, read from ``engine``, priced by ``prices``."""
    router = APIRouter(tags=["dashboard"])
    page = _page_file("index.html")
    assets = {name: _page_file(name) for name in _PAGE_FILES}

    async def caller(
        request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> View:
        return access.view(request.headers.get("authorization"))

    viewer = Depends(caller)

    @router.get("/dashboard", include_in_schema=False)
    async def dashboard_page() -> Response:
        """The page (it asks for the key itself: the page is the same for everyone)."""
        return Response(page, media_type="text/html; charset=utf-8", headers={"content-security-policy": _CSP})

    @router.get("/dashboard/{name}", include_in_schema=False)
    async def dashboard_asset(name: str) -> Response:
        """The page's script and style sheet."""
        if name not in assets:
            raise NotFound(f"No dashboard file '{name}'.")
        return Response(assets[name], media_type=_PAGE_FILES[name], headers={"cache-control": "no-cache"})

    @router.get(
        "/v1/dashboard/summary",
        summary="Your requests by state, errors by code and totals",
        responses=_documented(Summary),
    )
    async def summary(view: View = viewer) -> Response:
        """Requests by state, failed requests by error code, and per-model and per-tenant totals (requests,
        tokens, cost, saving) over the last hour, the last day and all stored results. An administrator key
        (``BATCHGPT_ADMIN_KEYS``) sees every tenant."""
        found = await asyncio.to_thread(_summary, engine, view, prices, time.time())
        return json_response(found.model_dump(mode="json"))

    @router.get(
        "/v1/dashboard/batches",
        summary="Your batches with progress and money, newest first",
        responses=_documented(BatchPage),
    )
    async def batch_list(
        view: View = viewer,
        after: Annotated[
            str | None, Query(description="A batch id: list the batches after it (from the newest when unknown).")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        """Each batch: status, completed / failed / total, age, ETA, tokens, synchronous cost, cost and saving."""
        found = await asyncio.to_thread(_page, engine, view, prices, after, limit, time.time())
        return json_response(found.model_dump(mode="json"))

    @router.get(
        "/v1/dashboard/batches/{batch_id}", summary="One of your batches in detail", responses=_documented(BatchDetail)
    )
    async def batch_one(batch_id: str, view: View = viewer) -> Response:
        """The batch, its own errors, the provider's ids and its answers (failed first); 404 for unknown ids and
        other tenants' batches."""
        found = await asyncio.to_thread(_detail, engine, view, prices, batch_id, time.time())
        if found is None:
            raise NotFound(f"No batch found with id '{batch_id}'.", param="batch_id", code="batch_not_found")
        return json_response(found.model_dump(mode="json"))

    return router
