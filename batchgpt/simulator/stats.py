"""Call counters and the stats report (``GET /_sim/stats``) tests use to prove batching and no duplicates."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from batchgpt.simulator.lifecycle import Snapshot
from batchgpt.simulator.records import BatchRecord, FileRecord

__all__ = ["CallStats", "stats_report"]


@dataclass
class CallStats:
    """API calls per route name, and those the SDK marked as retries (``x-stainless-retry-count`` > 0)."""

    calls: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    unauthorized: int = 0

    def record(self, route: str, retry_count: int) -> None:
        """Count one call to ``route``."""
        self.calls[route] += 1
        if retry_count > 0:
            self.retried[route] += 1

    def clear(self) -> None:
        """Zero every counter."""
        self.calls.clear()
        self.retried.clear()
        self.unauthorized = 0


def stats_report(
    *,
    calls: CallStats,
    files: list[FileRecord],
    batches: list[tuple[BatchRecord, Snapshot]],
    include_custom_ids: bool = True,
) -> dict[str, object]:
    """The JSON stats document; ``batches`` in creation order with their current snapshots."""
    submissions: Counter[str] = Counter()
    executions: Counter[str] = Counter()
    details = []
    for record, snapshot in batches:
        submissions.update(record.custom_ids)
        executions.update(record.lines[index].custom_id for index in snapshot.done)
        details.append(
            {
                "id": record.id,
                "status": snapshot.status,
                "endpoint": record.endpoint,
                "model": record.model,
                "models": list(record.models),
                "lines": record.line_count,
                "lines_executed": len(snapshot.done),
                "created_at": int(record.schedule.created_at),
                "input_file_id": record.input_file_id,
            }
        )
    report: dict[str, object] = {
        "files": len(files),
        "files_by_purpose": dict(Counter(f.purpose for f in files)),
        "batches": len(batches),
        "batches_by_status": dict(Counter(snapshot.status for _, snapshot in batches)),
        "batch_details": details,
        "lines_per_batch": {d["id"]: d["lines"] for d in details},
        "models_per_batch": {d["id"]: d["models"] for d in details},
        "api_calls": dict(calls.calls),
        "api_calls_total": sum(calls.calls.values()),
        "retried_calls": sum(calls.retried.values()),
        "retried_calls_by_route": dict(calls.retried),
        "unauthorized_calls": calls.unauthorized,
        "lines_submitted": sum(record.line_count for record, _ in batches),
        "lines_executed": sum(executions.values()),
        "duplicate_custom_ids": sorted(cid for cid, n in submissions.items() if n > 1),
        "duplicate_executions": sorted(cid for cid, n in executions.items() if n > 1),
    }
    if include_custom_ids:
        report["custom_id_submissions"] = dict(submissions)
    return report
