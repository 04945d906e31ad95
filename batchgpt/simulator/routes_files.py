"""``/v1/files`` routes: upload (multipart, with ``expires_after``), list, retrieve, content (with optional
slow download), delete. An expired file is gone: 404 like a deleted one (``file_service``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from batchgpt.simulator.deps import SimDep, guard
from batchgpt.simulator.errors import missing_parameter
from batchgpt.simulator.expiry import expiry_seconds
from batchgpt.simulator.file_service import delete_file, get_file, list_files, upload_file

__all__ = ["router"]

router = APIRouter(prefix="/v1/files", tags=["files"])


def _expires_after(form: Mapping[str, object]) -> int | None:
    anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    return expiry_seconds(anchor, seconds, param="expires_after")


@router.post("", dependencies=[guard("files.create")])
async def create_file(request: Request, sim: SimDep) -> dict[str, object]:
    """Upload a file."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise missing_parameter("file")
    purpose = form.get("purpose")
    if not isinstance(purpose, str) or not purpose:
        raise missing_parameter("purpose")
    content = await upload.read()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    record = upload_file(
        sim=sim,
        filename=upload.filename or "upload",
        purpose=purpose,
        content=content,
        expires_after_seconds=_expires_after(fields),
    )
    return record.to_api()


@router.get("", dependencies=[guard("files.list")])
async def list_files_route(
    sim: SimDep,
    purpose: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> dict[str, object]:
    """List files, newest first by default."""
    return list_files(sim=sim, purpose=purpose, limit=limit, order=order, after=after)


@router.get("/{file_id}", dependencies=[guard("files.retrieve")])
async def retrieve_file(file_id: str, sim: SimDep) -> dict[str, object]:
    """One file's metadata."""
    return get_file(sim=sim, file_id=file_id).to_api()


@router.get("/{file_id}/content", dependencies=[guard("files.content")])
async def file_content(file_id: str, sim: SimDep) -> Response:
    """A file's bytes, after the configured (or injected) download delay."""
    get_file(sim=sim, file_id=file_id)
    delay = sim.settings.download_delay_seconds + sim.faults.take_download_delay()
    if delay > 0:
        await asyncio.sleep(delay)
    content = sim.store.contents.get(file_id)
    if content is None:  # deleted while we waited
        get_file(sim=sim, file_id=file_id)
    return Response(content=content or b"", media_type="application/octet-stream")


@router.delete("/{file_id}", dependencies=[guard("files.delete")])
async def delete_file_route(file_id: str, sim: SimDep) -> dict[str, object]:
    """Delete a file."""
    return delete_file(sim=sim, file_id=file_id)
