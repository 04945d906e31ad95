"""``/v1/batches`` routes: create, retrieve, cancel, list (``after``/``limit``/``has_more``, newest first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from batchgpt.simulator.batch_service import cancel_batch, create_batch, get_batch, list_batches
from batchgpt.simulator.deps import JsonBody, SimDep, guard

__all__ = ["router"]

router = APIRouter(prefix="/v1/batches", tags=["batches"])


@router.post("", dependencies=[guard("batches.create")])
async def create_batch_route(body: JsonBody, sim: SimDep) -> dict[str, object]:
    """Create a batch from an uploaded ``.jsonl`` file."""
    return create_batch(sim=sim, body=body)


@router.get("", dependencies=[guard("batches.list")])
async def list_batches_route(
    sim: SimDep, after: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, object]:
    """List batches, newest first."""
    return list_batches(sim=sim, after=after, limit=limit)


@router.get("/{batch_id}", dependencies=[guard("batches.retrieve")])
async def retrieve_batch(batch_id: str, sim: SimDep) -> dict[str, object]:
    """One batch, advanced to now."""
    return get_batch(sim=sim, batch_id=batch_id)


@router.post("/{batch_id}/cancel", dependencies=[guard("batches.cancel")])
async def cancel_batch_route(batch_id: str, sim: SimDep) -> dict[str, object]:
    """Cancel a batch (409 once it is completed, failed or expired)."""
    return cancel_batch(sim=sim, batch_id=batch_id)
