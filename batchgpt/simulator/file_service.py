"""The Files API operations: upload checks, listing with cursors, retrieval and deletion, and expiry.

A file with ``expires_at`` is deleted once the simulator's clock reaches it (``purge_expired_files``
runs before every ``/v1`` call), so retrieve, content and delete answer 404 and listings leave it out.
``purpose=batch`` uploads expire after 30 days unless ``expires_after`` says otherwise.
"""

from __future__ import annotations

import json

from batchgpt.simulator.azure import check_expiry, check_file_quota, default_file_ttl, is_azure
from batchgpt.simulator.errors import file_not_found, invalid_request
from batchgpt.simulator.expiry import BATCH_FILE_TTL_SECONDS
from batchgpt.simulator.ids import new_file_id
from batchgpt.simulator.paging import cursor_page
from batchgpt.simulator.records import FileRecord
from batchgpt.simulator.simulation import Simulation

__all__ = ["UPLOAD_PURPOSES", "delete_file", "get_file", "list_files", "purge_expired_files", "upload_file"]

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_BAD_FORMAT = "Invalid file format for Batch API. Must be .jsonl"


def _first_line_is_json(content: bytes) -> bool:
    for raw in content.decode("utf-8", errors="replace").split("\n"):
        if raw.strip():
            try:
                return isinstance(json.loads(raw), dict)
            except ValueError:
                return False
    return False


def upload_file(
    *, sim: Simulation, filename: str, purpose: str, content: bytes, expires_after_seconds: int | None
) -> FileRecord:
    """Check and store an uploaded file; raise a 400 ``SimError`` where the real API refuses it."""
    if purpose not in UPLOAD_PURPOSES:
        raise invalid_request(
            f"Invalid value: '{purpose}'. Supported values are: " + ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES) + ".",
            param="purpose",
            code="invalid_value",
        )
    settings = sim.settings
    if purpose == "batch":
        if not filename.endswith(".jsonl"):
            raise invalid_request(_BAD_FORMAT)
        if len(content) > settings.max_bytes:
            raise invalid_request(
                f"File is too large: {len(content)} bytes. Batch input files must be at most "
                f"{settings.max_bytes} bytes.",
                param="file",
            )
        if settings.upload_check_first_line and not _first_line_is_json(content):
            raise invalid_request(_BAD_FORMAT)
    if is_azure(settings):
        check_expiry(settings, expires_after_seconds, param="expires_after")
        check_file_quota(sim, purpose=purpose, expires_after_seconds=expires_after_seconds)
    created_at = int(sim.clock.now())
    ttl = expires_after_seconds or default_file_ttl(settings, purpose, BATCH_FILE_TTL_SECONDS)
    expires_at = created_at + ttl if ttl is not None else None
    record = FileRecord(
        id=new_file_id(),
        bytes=len(content),
        created_at=created_at,
        filename=filename,
        purpose=purpose,
        expires_at=expires_at,
        seq=sim.store.next_seq(),
    )
    sim.store.add_file(record, content)
    return record


def add_output_file(*, sim: Simulation, filename: str, content: bytes, created_at: int, ttl_seconds: int) -> str:
    """Store a batch result file (purpose ``batch_output``); return its id."""
    record = FileRecord(
        id=new_file_id(),
        bytes=len(content),
        created_at=created_at,
        filename=filename,
        purpose="batch_output",
        expires_at=created_at + ttl_seconds,
        seq=sim.store.next_seq(),
    )
    sim.store.add_file(record, content)
    return record.id


def purge_expired_files(sim: Simulation) -> None:
    """Delete every file whose ``expires_at`` the clock has reached."""
    now = sim.clock.now()
    for record in list(sim.store.files.values()):
        if record.expires_at is not None and record.expires_at <= now:
            sim.store.delete_file(record.id)


def get_file(*, sim: Simulation, file_id: str) -> FileRecord:
    """The file, or a 404 ``SimError``."""
    record = sim.store.files.get(file_id)
    if record is None:
        raise file_not_found(file_id)
    return record


def delete_file(*, sim: Simulation, file_id: str) -> dict[str, object]:
    """Delete the file (404 if unknown); the deletion object."""
    get_file(sim=sim, file_id=file_id)
    sim.store.delete_file(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


def list_files(*, sim: Simulation, purpose: str | None, limit: int, order: str, after: str | None) -> dict[str, object]:
    """A cursor page of files, newest first unless ``order='asc'``."""
    records = sorted(sim.store.files.values(), key=lambda f: f.seq, reverse=(order != "asc"))
    if purpose:
        records = [f for f in records if f.purpose == purpose]
    return cursor_page(
        records, after=after, limit=limit, render=lambda f: f.to_api(), unknown_after=f"No such File object: {after}"
    )
