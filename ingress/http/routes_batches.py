"""Routes of the batch views: list, retrieve, cancel, and the original Batch-GPT status call."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import Engine

from batchgpt.store import batches
from ingress.errors import Conflict, InvalidRequest, NotFound
from ingress.http.auth import KeyRing
from ingress.http.batch_views import render_batch, render_page
from ingress.http.deps import tenant_dependency
from ingress.http.openapi_bodies import ERROR_RESPONSES
from ingress.http.responses import json_response
from schemas.status import BatchStatus

__all__ = ["batches_router"]


def _not_found(batch_id: str) -> NotFound:
    return NotFound(f"No batch found with id '{batch_id}'.", param="batch_id", code="batch_not_found")


async def _own_batch(engine: Engine, tenant: str, batch_id: str) -> dict[str, Any]:
    row = await asyncio.to_thread(batches.get_batch, engine, tenant=tenant, batch_id=batch_id)
    if row is None:
        raise _not_found(batch_id)
    return dict(row)


def batches_router(engine: Engine, keys: KeyRing) -> APIRouter:
    """The batch views of the callers ``keys`` authenticates, read from ``engine``."""
    router = APIRouter(tags=["batches"])
    caller = tenant_dependency(keys)

    @router.get("/v1/batches", summary="List your batches, newest first", responses=ERROR_RESPONSES)
    async def list_batches(
        tenant: str = caller,
        after: Annotated[str | None, Query(description="A batch id: list the batches after it.")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        """OpenAI's ``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``.

        An ``after`` that names none of the caller's batches is a 400 (``param: after``), as OpenAI answers.
        """
        if after and await asyncio.to_thread(batches.get_batch, engine, tenant=tenant, batch_id=after) is None:
            raise InvalidRequest(f"No batch found with id '{after}'.", param="after")
        rows, has_more = await asyncio.to_thread(batches.list_batches, engine, tenant=tenant, after=after, limit=limit)
        return json_response(render_page(rows, has_more))

    @router.get("/v1/batches/{batch_id}", summary="Retrieve one of your batches", responses=ERROR_RESPONSES)
    async def retrieve_batch(batch_id: str, tenant: str = caller) -> Response:
        """The Batch object; 404 for unknown ids and other callers' batches."""
        return json_response(render_batch(await _own_batch(engine, tenant, batch_id)))

    @router.post("/v1/batches/{batch_id}/cancel", summary="Cancel one of your batches", responses=ERROR_RESPONSES)
    async def cancel_batch(batch_id: str, tenant: str = caller) -> Response:
        """Mark the batch for cancellation (the resolver cancels upstream); 409 once it finished."""
        row = await asyncio.to_thread(batches.request_cancel, engine, tenant=tenant, batch_id=batch_id, now=time.time())
        if row is None:
            raise _not_found(batch_id)
        status = BatchStatus(row["status"])
        if status.is_terminal and status is not BatchStatus.CANCELLED:
            raise Conflict(f"Cannot cancel a batch with status '{status.value}'.")
        return json_response(render_batch(row))

    @router.get(
        "/get-batch-status",
        summary="Batch status (kept for users of the original Batch-GPT)",
        responses=ERROR_RESPONSES,
    )
    async def get_batch_status(batch_id: Annotated[str, Query(min_length=1)], tenant: str = caller) -> Response:
        """``{"batch_id", "status", "request_counts", ...}`` for one of your batches."""
        batch = render_batch(await _own_batch(engine, tenant, batch_id))
        return json_response(
            {
                "batch_id": batch["id"],
                "status": batch["status"],
                "request_counts": batch["request_counts"],
                "endpoint": batch["endpoint"],
                "model": batch["model"],
                "created_at": batch["created_at"],
                "upstream_batch_id": (batch["metadata"] or {}).get("upstream_batch_id"),
                "output_file_id": batch["output_file_id"],
                "error_file_id": batch["error_file_id"],
            }
        )

    return router
