"""The simulator's state: files (metadata and bytes) and batches, in memory, optionally mirrored to disk.

With a ``state_dir`` every change is written through (JSON for records, raw bytes for file
contents, each replaced atomically), and a new ``Store`` on the same directory loads them back, so a
restarted simulator keeps its files, its batches and therefore its submission stats.

Layout: ``<dir>/files/<id>.json`` + ``<id>.bin``, ``<dir>/batches/<id>.json``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from batchgpt.simulator.records import BatchRecord, FileRecord

__all__ = ["Store"]

logger = logging.getLogger(__name__)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Store:
    """Files and batches by id, with creation sequence numbers for stable newest-first listing."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.state_dir = state_dir
        self.files: dict[str, FileRecord] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, BatchRecord] = {}
        self._seq = 0
        if state_dir is not None:
            (state_dir / "files").mkdir(parents=True, exist_ok=True)
            (state_dir / "batches").mkdir(parents=True, exist_ok=True)
            self._load(state_dir)

    def next_seq(self) -> int:
        """A number larger than every one handed out before (also across restarts)."""
        self._seq += 1
        return self._seq

    def _load(self, state_dir: Path) -> None:
        for path in sorted((state_dir / "files").glob("*.json")):
            record = FileRecord.model_validate_json(path.read_bytes())
            blob = path.with_suffix(".bin")
            if not blob.exists():
                logger.warning("file %s has no content on disk; skipped", record.id)
                continue
            self.files[record.id] = record
            self.contents[record.id] = blob.read_bytes()
            self._seq = max(self._seq, record.seq)
        for path in sorted((state_dir / "batches").glob("*.json")):
            batch = BatchRecord.model_validate_json(path.read_bytes())
            self.batches[batch.id] = batch
            self._seq = max(self._seq, batch.seq)
        logger.info("loaded %d files and %d batches from %s", len(self.files), len(self.batches), state_dir)

    def add_file(self, record: FileRecord, content: bytes) -> None:
        """Store a new file and its bytes."""
        self.files[record.id] = record
        self.contents[record.id] = content
        if self.state_dir is not None:
            _write_atomic(self.state_dir / "files" / f"{record.id}.bin", content)
            _write_atomic(self.state_dir / "files" / f"{record.id}.json", record.model_dump_json().encode())

    def delete_file(self, file_id: str) -> None:
        """Forget a file."""
        self.files.pop(file_id, None)
        self.contents.pop(file_id, None)
        if self.state_dir is not None:
            for suffix in (".json", ".bin"):
                (self.state_dir / "files" / f"{file_id}{suffix}").unlink(missing_ok=True)

    def save_batch(self, record: BatchRecord) -> None:
        """Store a new or changed batch."""
        self.batches[record.id] = record
        if self.state_dir is not None:
            _write_atomic(self.state_dir / "batches" / f"{record.id}.json", record.model_dump_json().encode())

    def delete_batch(self, batch_id: str) -> None:
        """Forget a batch."""
        self.batches.pop(batch_id, None)
        if self.state_dir is not None:
            (self.state_dir / "batches" / f"{batch_id}.json").unlink(missing_ok=True)

    def clear(self) -> None:
        """Forget everything (and delete what this store wrote to its directory)."""
        if self.state_dir is not None:
            for file_id in list(self.files):
                self.delete_file(file_id)
            for batch_id in self.batches:
                (self.state_dir / "batches" / f"{batch_id}.json").unlink(missing_ok=True)
        self.files.clear()
        self.contents.clear()
        self.batches.clear()
