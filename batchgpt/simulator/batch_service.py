"""The Batches API operations: create (request checks, validation, schedule), cancel, list, and the admin
time controls (force expiry, end a cancel)."""

from __future__ import annotations

from batchgpt.simulator.answers import outcome
from batchgpt.simulator.azure import batch_deadline, check_expiry
from batchgpt.simulator.batch_views import batch_object, refresh
from batchgpt.simulator.endpoints import BATCH_ENDPOINTS, SIMULATED_ENDPOINTS
from batchgpt.simulator.errors import SimError, batch_not_found, file_not_found, invalid_request, missing_parameter
from batchgpt.simulator.expiry import expiry_seconds
from batchgpt.simulator.faults import BatchFault
from batchgpt.simulator.ids import new_batch_id
from batchgpt.simulator.lifecycle import Schedule, evaluate, line_offsets
from batchgpt.simulator.markers import markers_of
from batchgpt.simulator.paging import cursor_page
from batchgpt.simulator.records import BatchRecord, LineOutcome, LineRecord
from batchgpt.simulator.simulation import Simulation
from batchgpt.simulator.validation import ValidationResult, validate_batch_input

__all__ = [
    "cancel_batch",
    "create_batch",
    "drain_cancel",
    "force_expire",
    "get_batch",
    "list_batches",
    "plan_schedule",
]


def _check_request(body: object) -> tuple[str, str, dict[str, str] | None, int | None]:
    """(input_file_id, endpoint, metadata, output ttl) of a create request, or a 400 ``SimError``."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    for name in ("input_file_id", "endpoint", "completion_window"):
        if body.get(name) is None:
            raise missing_parameter(name)
    endpoint = body["endpoint"]
    if endpoint not in SIMULATED_ENDPOINTS:
        listed = "', '".join(BATCH_ENDPOINTS[:-1])
        message = f"Invalid value: '{endpoint}'. Supported values are: '{listed}', and '{BATCH_ENDPOINTS[-1]}'."
        if endpoint in BATCH_ENDPOINTS:
            simulated = "', '".join(SIMULATED_ENDPOINTS)
            message = f"The simulator does not implement '{endpoint}'; it implements '{simulated}'."
        raise invalid_request(message, param="endpoint", code="invalid_value")
    if body["completion_window"] != "24h":
        raise invalid_request(
            f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.",
            param="completion_window",
            code="invalid_value",
        )
    if not isinstance(body["input_file_id"], str):
        raise invalid_request(
            "Invalid type for 'input_file_id': expected a string.", param="input_file_id", code="invalid_type"
        )
    return body["input_file_id"], endpoint, _check_metadata(body.get("metadata")), _check_ttl(body)


def _check_metadata(metadata: object) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise invalid_request("Invalid type for 'metadata': expected an object.", param="metadata", code="invalid_type")
    if len(metadata) > 16:
        raise invalid_request("Invalid 'metadata': too many keys (at most 16).", param="metadata", code="invalid_value")
    for key, value in metadata.items():
        if len(key) > 64:
            raise invalid_request(
                f"Invalid 'metadata': key '{key[:70]}' is longer than 64 characters.",
                param="metadata",
                code="invalid_value",
            )
        if not isinstance(value, str):
            kind = {
                list: "an array",
                dict: "an object",
                bool: "a boolean",
                int: "an integer",
                float: "a number",
            }
            raise invalid_request(
                f"Invalid type for 'metadata.{key}': expected a string, but got "
                f"{kind.get(type(value), 'null')} instead.",
                param=f"metadata.{key}",
                code="invalid_type",
            )
        if len(value) > 512:
            raise invalid_request(
                f"Invalid 'metadata.{key}': string too long (at most 512 characters).",
                param=f"metadata.{key}",
                code="string_above_max_length",
            )
    return dict(metadata)


def _check_ttl(body: dict[str, object]) -> int | None:
    raw = body.get("output_expires_after")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_request(
            "Invalid type for 'output_expires_after': expected an object.",
            param="output_expires_after",
            code="invalid_type",
        )
    return expiry_seconds(raw.get("anchor"), raw.get("seconds"), param="output_expires_after")


def _enqueued_tokens(sim: Simulation, model: str | None, at: float) -> int:
    total = 0
    for other in sim.store.batches.values():
        if other.model == model and evaluate(other.schedule, at).status in ("in_progress", "finalizing"):
            total += sum(o.input_tokens for o in other.outcomes)
    return total


def _outcome_errors(
    sim: Simulation, fault: BatchFault | None, model: str | None, tokens: int, validated_at: float
) -> list[dict[str, object]]:
    token_error: list[dict[str, object]] = [
        {
            "code": "token_limit_exceeded",
            "message": f"Enqueued token limit reached for {model} in organization org-simulator. Limit: "
            f"{sim.settings.enqueued_token_limit or 2_000_000:,} enqueued tokens. Please try again once some "
            "in_progress batches have been completed.",
            "param": None,
            "line": None,
        }
    ]
    if fault is not None and fault.outcome == "token_limit_exceeded":
        return token_error
    if fault is not None and fault.outcome == "fail_validation":
        return [{"code": fault.code, "message": fault.message, "param": None, "line": None}]
    limit = sim.settings.enqueued_token_limit
    if limit is not None and tokens + _enqueued_tokens(sim, model, validated_at) > limit:
        return token_error
    return []


def _validate_input(sim: Simulation, input_file_id: str, endpoint: str) -> ValidationResult:
    content = sim.store.contents.get(input_file_id)
    if content is None:
        message = f"Cannot find file {input_file_id}, or organization org-simulator does not have access to it."
        return ValidationResult(
            errors=[{"code": "invalid_request", "message": message, "param": "file_id", "line": None}]
        )
    return validate_batch_input(
        content,
        endpoint=endpoint,
        model_known=sim.model_known,
        max_lines=sim.settings.max_lines,
        max_embedding_inputs=sim.settings.max_embedding_inputs,
    )


def _line_outcome(endpoint: str, body: dict[str, object]) -> LineOutcome:
    status, input_tokens, output_tokens = outcome(endpoint, body)
    return LineOutcome(status=status, input_tokens=input_tokens, output_tokens=output_tokens)


def plan_schedule(
    sim: Simulation,
    endpoint: str,
    lines: list[LineRecord],
    *,
    now: float,
    fails_validation: bool,
    fault: BatchFault | None,
    deadline: float,
) -> Schedule:
    """A new batch's whole future: its lines' finishing times (``[sim:slow]`` ones late) and an armed
    ``expire``/``cancel`` fault placed at its ``fraction`` of the processing time."""
    settings = sim.settings
    validated_at = now + settings.validating_seconds
    slow = [i for i, line in enumerate(lines) if markers_of(endpoint, line.body).slow]
    schedule = Schedule(
        created_at=now,
        validated_at=validated_at,
        fails_validation=fails_validation,
        offsets=line_offsets(len(lines), slow, settings.in_progress_seconds, settings.slow_line_seconds),
        finalizing_seconds=settings.finalizing_seconds,
        cancelling_seconds=settings.cancelling_seconds,
        deadline=deadline,
    )
    if fault is not None and fault.outcome in ("expire", "cancel") and not fails_validation:
        at = validated_at + fault.fraction * (schedule.run_end - validated_at)
        if fault.outcome == "expire":
            schedule.deadline = min(schedule.deadline, at)
        else:
            schedule.cancel_requested_at = at
    return schedule


def create_batch(*, sim: Simulation, body: object) -> dict[str, object]:
    """Create a batch (``validating``); its future is scheduled now and revealed by the clock."""
    input_file_id, endpoint, metadata, ttl = _check_request(body)
    check_expiry(sim.settings, ttl, param="output_expires_after")
    settings = sim.settings
    file = sim.store.files.get(input_file_id)
    if file is None and settings.missing_input_file == "404":
        raise file_not_found(input_file_id)
    if file is not None and file.purpose != "batch":
        raise invalid_request(
            f"The input file {input_file_id} must have purpose 'batch', not '{file.purpose}'.",
            param="input_file_id",
        )
    found = _validate_input(sim, input_file_id, endpoint)
    lines = [LineRecord(custom_id=line.custom_id, body=line.body) for line in found.lines]
    outcomes = [_line_outcome(endpoint, line.body) for line in lines]
    now = sim.clock.now()
    validated_at = now + settings.validating_seconds
    fault = sim.faults.take_batch()
    errors = found.errors or _outcome_errors(
        sim, fault, found.model, sum(o.input_tokens for o in outcomes), validated_at
    )
    if errors:
        lines, outcomes = [], []
    schedule = plan_schedule(
        sim,
        endpoint,
        lines,
        now=now,
        fails_validation=bool(errors),
        fault=fault,
        deadline=batch_deadline(settings, now),
    )
    record = BatchRecord(
        id=new_batch_id(),
        endpoint=endpoint,
        input_file_id=input_file_id,
        window_seconds=settings.completion_window_seconds,
        metadata=metadata,
        output_expires_after_seconds=ttl,
        seq=sim.store.next_seq(),
        schedule=schedule,
        validation_errors=errors,
        model=found.model,
        models=found.models,
        custom_ids=found.custom_ids,
        line_count=found.line_count,
        lines=lines,
        outcomes=outcomes,
        shuffle_seed=settings.seed if settings.shuffle_output else None,
        expired_count_as_failed=settings.expired_count_as_failed,
        empty_error_file=settings.empty_error_file,
        cancelled_unrun_lines=settings.cancelled_unrun_lines,
    )
    sim.store.save_batch(record)
    return batch_object(record, refresh(sim, record))


def _record(sim: Simulation, batch_id: str, *, any_api: bool = False) -> BatchRecord:
    record = sim.store.batches.get(batch_id)
    if record is None or (record.api != "openai" and not any_api):
        raise batch_not_found(batch_id)
    return record


def get_batch(*, sim: Simulation, batch_id: str) -> dict[str, object]:
    """The Batch object as of now (404 if unknown)."""
    record = _record(sim, batch_id)
    return batch_object(record, refresh(sim, record))


def cancel_batch(*, sim: Simulation, batch_id: str) -> dict[str, object]:
    """Start cancelling; 409 for completed/failed/expired, unchanged for cancelling/cancelled."""
    record = _record(sim, batch_id)
    snapshot = refresh(sim, record)
    if snapshot.status in ("completed", "failed", "expired"):
        raise SimError(409, f"Cannot cancel a batch with status '{snapshot.status}'.")
    if snapshot.status not in ("cancelling", "cancelled"):
        record.schedule.cancel_requested_at = sim.clock.now()
        sim.store.save_batch(record)
    return batch_object(record, refresh(sim, record))


def force_expire(*, sim: Simulation, batch_id: str) -> dict[str, object]:
    """Admin: expire a validating/in_progress batch (OpenAI or Anthropic) now, keeping the lines done so far."""
    record = _record(sim, batch_id, any_api=True)
    snapshot = refresh(sim, record)
    if snapshot.status not in ("validating", "in_progress"):
        raise SimError(409, f"Cannot expire a batch with status '{snapshot.status}'.")
    schedule = record.schedule
    schedule.deadline = sim.clock.now()
    if schedule.cancel_requested_at is not None and schedule.cancel_requested_at > schedule.deadline:
        schedule.cancel_requested_at = None
    sim.store.save_batch(record)
    return batch_object(record, refresh(sim, record))


def drain_cancel(*, sim: Simulation, batch_id: str) -> dict[str, object]:
    """Admin: end a ``cancelling`` batch (OpenAI or Anthropic) now (it becomes ``cancelled``)."""
    record = _record(sim, batch_id, any_api=True)
    snapshot = refresh(sim, record)
    if snapshot.status != "cancelling":
        raise SimError(409, f"Cannot finish cancelling a batch with status '{snapshot.status}'.")
    record.schedule.cancel_drained_at = sim.clock.now()
    sim.store.save_batch(record)
    return batch_object(record, refresh(sim, record))


def list_batches(*, sim: Simulation, after: str | None, limit: int) -> dict[str, object]:
    """A cursor page of batches, newest first."""
    records = sorted((b for b in sim.store.batches.values() if b.api == "openai"), key=lambda b: b.seq, reverse=True)
    return cursor_page(
        records,
        after=after,
        limit=limit,
        render=lambda b: batch_object(b, refresh(sim, b)),
        unknown_after=f"No batch found with id '{after}'.",
    )
