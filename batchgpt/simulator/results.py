"""Batch results, purely from a record and a snapshot: request counts, usage, output and error file lines.

* A finished line answered 2xx goes to the output file; a finished line answered 4xx/5xx goes to the
  error file with ``response`` set and ``error: null``. Every ``response`` carries ``status_code``,
  ``request_id`` (``req_`` + 32 hex, fixed per batch and custom_id) and ``body``, the endpoint's object.
* Lines never run go to the error file with ``response: null``: ``batch_expired`` after an expiry, and
  ``batch_cancelled`` after a cancel only when the record asks for it (default: left out).
* Lines are shuffled with the record's seed unless it has none.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from batchgpt.simulator.answers import answer
from batchgpt.simulator.ids import derived_base62, derived_hex
from batchgpt.simulator.lifecycle import Snapshot
from batchgpt.simulator.records import BatchRecord

__all__ = ["ResultLines", "Tally", "request_counts", "result_lines", "tally", "usage"]

EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}
CANCELLED_ERROR = {
    "code": "batch_cancelled",
    "message": "This request was not executed because the batch was cancelled.",
}


@dataclass(frozen=True)
class Tally:
    """Counts over a batch's lines at one instant."""

    total: int
    completed: int
    failed: int
    input_tokens: int
    output_tokens: int


def _unrun_error(record: BatchRecord, snapshot: Snapshot) -> dict[str, str] | None:
    if snapshot.status == "expired":
        return EXPIRED_ERROR
    if snapshot.status == "cancelled" and record.cancelled_unrun_lines == "error_file":
        return CANCELLED_ERROR
    return None


def tally(record: BatchRecord, snapshot: Snapshot) -> Tally:
    """How many lines completed/failed by the snapshot, and the tokens of the successful ones."""
    if snapshot.in_progress_at is None:
        return Tally(0, 0, 0, 0, 0)
    completed = failed = input_tokens = output_tokens = 0
    for index in snapshot.done:
        result = record.outcomes[index]
        if 200 <= result.status < 300:
            completed += 1
            input_tokens += result.input_tokens
            output_tokens += result.output_tokens
        else:
            failed += 1
    unrun = len(record.lines) - len(snapshot.done)
    error = _unrun_error(record, snapshot)
    if error is EXPIRED_ERROR and record.expired_count_as_failed or error is CANCELLED_ERROR:
        failed += unrun
    return Tally(len(record.lines), completed, failed, input_tokens, output_tokens)


def request_counts(counts: Tally) -> dict[str, int]:
    """``request_counts`` of the Batch object."""
    return {"total": counts.total, "completed": counts.completed, "failed": counts.failed}


def usage(counts: Tally) -> dict[str, object]:
    """``usage`` of the Batch object."""
    return {
        "input_tokens": counts.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": counts.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": counts.input_tokens + counts.output_tokens,
    }


@dataclass(frozen=True)
class ResultLines:
    """The JSONL lines of the output file and of the error file."""

    output: list[str]
    errors: list[str]


def result_lines(record: BatchRecord, snapshot: Snapshot) -> ResultLines:
    """Build the output and error file lines for a terminal batch."""
    output: list[str] = []
    errors: list[str] = []
    done = set(snapshot.done)
    unrun_error = _unrun_error(record, snapshot) if snapshot.in_progress_at is not None else None
    validated_at = record.schedule.validated_at
    for index, line in enumerate(record.lines):
        seed = f"{record.id}:{line.custom_id}"
        entry: dict[str, object] = {
            "id": "batch_req_" + derived_base62(seed, 24),
            "custom_id": line.custom_id,
        }
        if index in done:
            result = answer(
                record.endpoint,
                line.body,
                completion_id="chatcmpl-" + derived_base62(seed + ":completion", 29),
                created=int(validated_at + record.schedule.offsets[index]),
            )
            entry["response"] = {
                "status_code": result.status_code,
                "request_id": "req_" + derived_hex(seed + ":request"),
                "body": result.body,
            }
            entry["error"] = None
            (output if 200 <= result.status_code < 300 else errors).append(json.dumps(entry))
        elif unrun_error is not None:
            entry["response"] = None
            entry["error"] = dict(unrun_error)
            errors.append(json.dumps(entry))
    if record.shuffle_seed is not None:
        rng = random.Random(f"{record.shuffle_seed}:{record.id}")
        rng.shuffle(output)
        rng.shuffle(errors)
    return ResultLines(output=output, errors=errors)
