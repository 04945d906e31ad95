"""Anthropic's Message Batches on the simulator's lifecycle: create (inline requests), retrieve, list, cancel and
the results JSONL, rendered as the ``anthropic`` SDK's ``MessageBatch`` and ``MessageBatchIndividualResponse``.

A Message Batch is a :class:`BatchRecord` with ``api="anthropic"``: the same schedule, clock, faults and stats
as an OpenAI batch. Its statuses fold OpenAI's: ``validating``/``in_progress``/``finalizing`` are
``in_progress``, ``cancelling`` is ``canceling``, every terminal status is ``ended``. ``request_counts`` keep
every request ``processing`` until the batch ends, then count each one ``succeeded``/``errored`` (it ran) or
``expired``/``canceled`` (it never ran). The results are built from the record when asked for (no files).
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

from batchgpt.simulator.anthropic_errors import anthropic_error
from batchgpt.simulator.batch_service import plan_schedule
from batchgpt.simulator.batch_views import refresh
from batchgpt.simulator.endpoints import MESSAGES_ENDPOINT
from batchgpt.simulator.ids import derived_base62, new_message_batch_id
from batchgpt.simulator.lifecycle import Snapshot
from batchgpt.simulator.message_answers import message_answer
from batchgpt.simulator.records import BatchRecord, LineOutcome, LineRecord
from batchgpt.simulator.simulation import Simulation

__all__ = [
    "cancel_message_batch",
    "create_message_batch",
    "delete_message_batch",
    "get_message_batch",
    "list_message_batches",
    "message_batch_results",
]

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _timestamp(value: float | None) -> str | None:
    """RFC 3339 in UTC, as Anthropic writes its times."""
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def _check_requests(sim: Simulation, body: object, size: int) -> list[LineRecord]:
    settings = sim.settings
    if size > settings.message_batch_max_bytes:
        raise anthropic_error(413, f"Request exceeds the maximum allowed number of bytes ({size}).")
    if not isinstance(body, dict):
        raise anthropic_error(400, "The request body must be a JSON object.")
    requests = body.get("requests")
    if requests is None:
        raise anthropic_error(400, "requests: Field required")
    if not isinstance(requests, list) or not requests:
        raise anthropic_error(400, "requests: List should have at least 1 item")
    if len(requests) > settings.message_batch_max_requests:
        raise anthropic_error(
            400,
            f"requests: List should have at most {settings.message_batch_max_requests} items after validation, "
            f"not {len(requests)}",
        )
    lines: list[LineRecord] = []
    seen: set[str] = set()
    for index, item in enumerate(requests):
        if not isinstance(item, dict):
            raise anthropic_error(400, f"requests.{index}: Input should be a valid dictionary")
        custom_id, params = item.get("custom_id"), item.get("params")
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            raise anthropic_error(
                400, f"requests.{index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        if custom_id in seen:
            raise anthropic_error(400, f"Duplicate custom_id: {custom_id}")
        if not isinstance(params, dict):
            raise anthropic_error(400, f"requests.{index}.params: Field required")
        seen.add(custom_id)
        lines.append(LineRecord(custom_id=custom_id, body=params))
    return lines


def _message_id(record_id: str, custom_id: str) -> str:
    return "msg_" + derived_base62(f"{record_id}:{custom_id}:message", 24)


def create_message_batch(*, sim: Simulation, body: object, size: int) -> dict[str, object]:
    """``POST /v1/messages/batches``: check the inline requests, schedule the batch, answer it ``in_progress``.

    Each request's params are checked when it runs, as Anthropic does: a bad one is an ``errored`` result.
    """
    lines = _check_requests(sim, body, size)
    fault = sim.faults.take_batch()
    if fault is not None and fault.outcome == "fail_validation":
        raise anthropic_error(400, fault.message)
    if fault is not None and fault.outcome == "token_limit_exceeded":
        raise anthropic_error(429, "Your organization has reached its Message Batches queue limit.")
    record_id = new_message_batch_id()
    outcomes = []
    for line in lines:
        result = message_answer(
            line.body, message_id=_message_id(record_id, line.custom_id), model_known=sim.anthropic_model_known
        )
        outcomes.append(
            LineOutcome(status=result.status_code, input_tokens=result.input_tokens, output_tokens=result.output_tokens)
        )
    now = sim.clock.now()
    settings = sim.settings
    deadline = now + settings.completion_window_seconds
    schedule = plan_schedule(
        sim, MESSAGES_ENDPOINT, lines, now=now, fails_validation=False, fault=fault, deadline=deadline
    )
    models = sorted({str(line.body.get("model")) for line in lines if isinstance(line.body.get("model"), str)})
    record = BatchRecord(
        id=record_id,
        api="anthropic",
        endpoint=MESSAGES_ENDPOINT,
        input_file_id="",
        window_seconds=settings.completion_window_seconds,
        seq=sim.store.next_seq(),
        schedule=schedule,
        model=models[0] if len(models) == 1 else None,
        models=models,
        custom_ids=[line.custom_id for line in lines],
        line_count=len(lines),
        lines=lines,
        outcomes=outcomes,
        shuffle_seed=settings.seed if settings.shuffle_output else None,
    )
    sim.store.save_batch(record)
    return message_batch_object(record, refresh(sim, record), results_base=None)


def _record(sim: Simulation, batch_id: str) -> BatchRecord:
    record = sim.store.batches.get(batch_id)
    if record is None or record.api != "anthropic":
        raise anthropic_error(404, f"No Message Batch found with id '{batch_id}'.")
    return record


def _processing_status(snapshot: Snapshot) -> str:
    if snapshot.terminal:
        return "ended"
    return "canceling" if snapshot.status == "cancelling" else "in_progress"


def _line_results(record: BatchRecord, snapshot: Snapshot) -> list[str]:
    """The result type of each request (input order) of an ended batch."""
    done = set(snapshot.done)
    unrun = "expired" if snapshot.status == "expired" else "canceled"
    kinds = []
    for index, outcome in enumerate(record.outcomes):
        if index in done:
            kinds.append("succeeded" if 200 <= outcome.status < 300 else "errored")
        else:
            kinds.append(unrun)
    return kinds


def _request_counts(record: BatchRecord, snapshot: Snapshot) -> dict[str, int]:
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if not snapshot.terminal:
        counts["processing"] = len(record.lines)
        return counts
    for kind in _line_results(record, snapshot):
        counts[kind] += 1
    return counts


def _ended_at(snapshot: Snapshot) -> float | None:
    if not snapshot.terminal:
        return None
    return next(t for t in (snapshot.completed_at, snapshot.expired_at, snapshot.cancelled_at) if t is not None)


def message_batch_object(record: BatchRecord, snapshot: Snapshot, *, results_base: str | None) -> dict[str, object]:
    """The ``MessageBatch`` as Anthropic answers it (``results_url`` under ``results_base`` once ended)."""
    ended = snapshot.terminal
    results_url = f"{results_base}/v1/messages/batches/{record.id}/results" if ended and results_base else None
    return {
        "id": record.id,
        "type": "message_batch",
        "processing_status": _processing_status(snapshot),
        "request_counts": _request_counts(record, snapshot),
        "ended_at": _timestamp(_ended_at(snapshot)),
        "created_at": _timestamp(record.schedule.created_at),
        "expires_at": _timestamp(record.schedule.created_at + record.window_seconds),
        "archived_at": None,
        "cancel_initiated_at": _timestamp(snapshot.cancelling_at),
        "results_url": results_url,
    }


def get_message_batch(*, sim: Simulation, batch_id: str, results_base: str) -> dict[str, object]:
    """``GET /v1/messages/batches/{id}``: the batch as of now (404 if unknown)."""
    record = _record(sim, batch_id)
    return message_batch_object(record, refresh(sim, record), results_base=results_base)


def cancel_message_batch(*, sim: Simulation, batch_id: str, results_base: str) -> dict[str, object]:
    """``POST /v1/messages/batches/{id}/cancel``: ``canceling`` now, then ``ended`` with the unrun requests
    ``canceled``; a batch already ended cannot be canceled (400), one already canceling is answered as it is."""
    record = _record(sim, batch_id)
    snapshot = refresh(sim, record)
    if snapshot.terminal:
        raise anthropic_error(400, f"Message Batch {batch_id} has already ended and cannot be canceled.")
    if snapshot.status != "cancelling":
        record.schedule.cancel_requested_at = sim.clock.now()
        sim.store.save_batch(record)
    return message_batch_object(record, refresh(sim, record), results_base=results_base)


def delete_message_batch(*, sim: Simulation, batch_id: str) -> dict[str, object]:
    """``DELETE /v1/messages/batches/{id}``: forget an ended batch (a running one must be canceled first: 400)."""
    record = _record(sim, batch_id)
    if not refresh(sim, record).terminal:
        raise anthropic_error(400, f"Message Batch {batch_id} is still in progress; cancel it before deleting it.")
    sim.store.delete_batch(batch_id)
    return {"id": batch_id, "type": "message_batch_deleted"}


def list_message_batches(
    *, sim: Simulation, before_id: str | None, after_id: str | None, limit: int, results_base: str
) -> dict[str, object]:
    """``GET /v1/messages/batches``: newest first; ``after_id`` pages towards older batches, ``before_id`` towards
    newer ones; ``has_more`` says whether more lie further in that direction."""
    records = sorted((b for b in sim.store.batches.values() if b.api == "anthropic"), key=lambda b: b.seq, reverse=True)
    ids = [record.id for record in records]
    for cursor in (before_id, after_id):
        if cursor is not None and cursor not in ids:
            raise anthropic_error(404, f"No Message Batch found with id '{cursor}'.")
    if before_id is not None:
        newer = records[: ids.index(before_id)]
        page, has_more = newer[-limit:], len(newer) > limit
    else:
        older = records[ids.index(after_id) + 1 :] if after_id is not None else records
        page, has_more = older[:limit], len(older) > limit
    return {
        "data": [message_batch_object(b, refresh(sim, b), results_base=results_base) for b in page],
        "has_more": has_more,
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
    }


def _result(sim: Simulation, record: BatchRecord, index: int, kind: str) -> dict[str, object]:
    line = record.lines[index]
    if kind in ("expired", "canceled"):
        return {"type": kind}
    answer = message_answer(
        line.body,
        message_id=_message_id(record.id, line.custom_id),
        service_tier="batch",
        model_known=sim.anthropic_model_known,
    )
    if kind == "succeeded":
        return {"type": "succeeded", "message": answer.body}
    return {"type": "errored", "error": answer.body}


def message_batch_results(*, sim: Simulation, batch_id: str) -> bytes:
    """``GET /v1/messages/batches/{id}/results``: one ``{"custom_id", "result"}`` line per request, in any order
    (shuffled with the seed unless configured otherwise); 400 while the batch has not ended."""
    record = _record(sim, batch_id)
    snapshot = refresh(sim, record)
    if not snapshot.terminal:
        raise anthropic_error(400, f"Message Batch {batch_id} has not ended yet; its results are not available.")
    lines = [
        json.dumps({"custom_id": record.lines[index].custom_id, "result": _result(sim, record, index, kind)})
        for index, kind in enumerate(_line_results(record, snapshot))
    ]
    if record.shuffle_seed is not None:
        random.Random(f"{record.shuffle_seed}:{record.id}").shuffle(lines)
    return "".join(line + "\n" for line in lines).encode()
