"""An OpenAI Batch object becomes one ``UpstreamBatch`` (pure: no network)."""

from __future__ import annotations

from typing import Any

from openai.types import Batch

from batchgpt.upstream.openai_upstream import upstream_batch
from schemas import BatchStatus


def _batch(**fields: Any) -> Batch:
    base: dict[str, Any] = {
        "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-in",
        "completion_window": "24h", "status": "completed", "created_at": 100,
        "request_counts": {"total": 3, "completed": 2, "failed": 1},
        "output_file_id": "file-out", "error_file_id": "", "completed_at": 160,
        "errors": {"object": "list", "data": [{"code": "invalid_value", "message": "bad", "line": 2}]},
        "usage": {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }
    base.update(fields)
    return Batch.model_validate(base)


def test_every_field_both_services_need_is_kept() -> None:
    record = upstream_batch(_batch())
    assert (record.id, record.status, record.created_at, record.input_file_id) == (
        "batch_1", BatchStatus.COMPLETED, 100.0, "file-in")
    assert (record.output_file_id, record.error_file_id) == ("file-out", None)  # "" is no file
    assert (record.total, record.completed, record.failed) == (3, 2, 1)
    assert (record.input_tokens, record.output_tokens, record.terminal_at) == (30, 12, 160.0)
    assert record.errors is not None and record.errors[0]["code"] == "invalid_value" and record.errors[0]["line"] == 2


def test_missing_optional_fields_and_an_unknown_status() -> None:
    bare = _batch(status="in_progress", request_counts=None, usage=None, errors=None, output_file_id=None,
                  completed_at=None)
    record = upstream_batch(bare)
    assert record.status is BatchStatus.IN_PROGRESS and record.terminal_at is None
    assert (record.total, record.input_tokens, record.errors, record.output_file_id) == (0, None, None, None)
    unknown = upstream_batch(Batch.model_construct(**{**bare.__dict__, "status": "queued"}))
    assert unknown.status is BatchStatus.VALIDATING  # still being worked on, never our own "pending"
