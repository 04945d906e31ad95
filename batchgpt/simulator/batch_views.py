"""Bringing a batch up to the clock: evaluate its schedule, write its result files once it is terminal,
and render the Batch object with every field the real API emits (nulls included)."""

from __future__ import annotations

from batchgpt.simulator.expiry import BATCH_FILE_TTL_SECONDS
from batchgpt.simulator.file_service import add_output_file
from batchgpt.simulator.lifecycle import Snapshot, evaluate
from batchgpt.simulator.records import BatchRecord
from batchgpt.simulator.results import request_counts, result_lines, tally, usage
from batchgpt.simulator.simulation import Simulation

__all__ = ["advance_all", "batch_object", "refresh"]


def _terminal_time(snapshot: Snapshot) -> float:
    for value in (snapshot.completed_at, snapshot.expired_at, snapshot.cancelled_at, snapshot.failed_at):
        if value is not None:
            return value
    raise ValueError(f"not terminal: {snapshot.status}")


def _write_results(sim: Simulation, record: BatchRecord, snapshot: Snapshot) -> None:
    if snapshot.status != "failed" and record.api == "openai":  # a Message Batch serves its results itself
        lines = result_lines(record, snapshot)
        created_at = int(_terminal_time(snapshot))
        ttl = record.output_expires_after_seconds or BATCH_FILE_TTL_SECONDS
        if lines.output:
            record.output_file_id = add_output_file(
                sim=sim,
                filename=f"{record.id}_output.jsonl",
                content=("\n".join(lines.output) + "\n").encode(),
                created_at=created_at,
                ttl_seconds=ttl,
            )
        if lines.errors or record.empty_error_file:
            content = ("\n".join(lines.errors) + "\n").encode() if lines.errors else b""
            record.error_file_id = add_output_file(
                sim=sim,
                filename=f"{record.id}_error.jsonl",
                content=content,
                created_at=created_at,
                ttl_seconds=ttl,
            )
    record.final_status = snapshot.status
    sim.store.save_batch(record)


def refresh(sim: Simulation, record: BatchRecord) -> Snapshot:
    """Evaluate the batch at the simulator's clock; on first sight of a terminal state, write its files."""
    snapshot = evaluate(record.schedule, sim.clock.now())
    if snapshot.terminal and record.final_status is None:
        _write_results(sim, record, snapshot)
    return snapshot


def advance_all(sim: Simulation) -> None:
    """Bring every unfinished batch up to the clock, so result files exist whichever route is read."""
    for record in list(sim.store.batches.values()):
        if record.final_status is None:
            refresh(sim, record)


def _ts(value: float | None) -> int | None:
    return None if value is None else int(value)


def batch_object(record: BatchRecord, snapshot: Snapshot) -> dict[str, object]:
    """The Batch object as the API answers it."""
    counts = tally(record, snapshot)
    failed = snapshot.status == "failed"
    return {
        "id": record.id,
        "object": "batch",
        "endpoint": record.endpoint,
        "model": None if snapshot.status == "validating" else record.model,
        "errors": {"object": "list", "data": record.validation_errors} if failed else None,
        "input_file_id": record.input_file_id,
        "completion_window": record.completion_window,
        "status": snapshot.status,
        "output_file_id": record.output_file_id if snapshot.terminal else None,
        "error_file_id": record.error_file_id if snapshot.terminal else None,
        "created_at": int(record.schedule.created_at),
        "in_progress_at": _ts(snapshot.in_progress_at),
        "expires_at": int(record.schedule.created_at + record.window_seconds),
        "finalizing_at": _ts(snapshot.finalizing_at),
        "completed_at": _ts(snapshot.completed_at),
        "failed_at": _ts(snapshot.failed_at),
        "expired_at": _ts(snapshot.expired_at),
        "cancelling_at": _ts(snapshot.cancelling_at),
        "cancelled_at": _ts(snapshot.cancelled_at),
        "request_counts": request_counts(counts),
        "metadata": record.metadata,
        "usage": usage(counts),
    }
