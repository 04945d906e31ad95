"""The dashboard's figures from stored rows and the price table. Pure.

* **age**: now minus the batch's creation; **ETA**: the time since it reached the provider times the
  requests left over the requests answered so far (none before the first answer, none once finished);
* **tokens** of a batch: the provider's batch ``usage`` when it reports one, else the sum of its lines';
  of a total: the sum of the stored answers' ``usage``;
* **money**: :meth:`batchgpt.pricing.PriceTable.costs` of those tokens, per model and per how each request
  was answered (``answered_by``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from batchgpt.pricing import PriceTable
from batchgpt.store.dashboard import AnswerRow, UsageGroup
from ingress.dashboard.views import (
    AnswerView,
    BatchDetail,
    BatchView,
    ErrorCount,
    UpstreamIds,
    UsageTotal,
    WindowTotals,
)
from ingress.http.batch_views import render_batch, shown_status
from schemas.status import BatchStatus, RequestState

__all__ = [
    "DEFAULT_PROVIDER",
    "batch_detail",
    "batch_view",
    "error_counts",
    "eta_seconds",
    "requests_by_state",
    "window_totals",
]

DEFAULT_PROVIDER = "openai"
"""The provider of a batch whose row does not name one."""


def eta_seconds(row: Mapping[str, Any], now: float) -> float | None:
    """Seconds left at the pace so far; ``None`` before the first answer and once the batch finished."""
    if BatchStatus(row["status"]).is_terminal:
        return None
    total = int(row.get("request_total") or row.get("line_count") or 0)
    done = int(row.get("request_completed") or 0) + int(row.get("request_failed") or 0)
    if done <= 0 or total <= 0:
        return None
    started = row.get("submitted_at") or row["created_at"]
    return max(0.0, now - float(started)) * max(0, total - done) / done


def _money(prices: PriceTable, model: str, input_tokens: int, output_tokens: int, answered_by: str) -> dict[str, Any]:
    costs = prices.costs(model, input_tokens, output_tokens, answered_by=answered_by)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "synchronous_usd": costs.synchronous_usd if costs else None,
        "cost_usd": costs.batch_usd if costs else None,
        "saving_usd": costs.saving_usd if costs else None,
    }


def batch_view(row: Mapping[str, Any], prices: PriceTable, now: float) -> BatchView:
    """One ``batches`` row with its progress, age, ETA and money."""
    shown = render_batch(row)["request_counts"]
    return BatchView(
        id=row["id"],
        provider=str(row.get("provider") or DEFAULT_PROVIDER),
        endpoint=row["endpoint"],
        model=row["model"] or "",
        status=shown_status(row),
        total=shown["total"],
        completed=shown["completed"],
        failed=shown["failed"],
        created_at=int(row["created_at"]),
        age_seconds=max(0.0, now - float(row["created_at"])),
        eta_seconds=eta_seconds(row, now),
        upstream_batch_id=row.get("upstream_batch_id"),
        **_money(
            prices, row["model"] or "", int(row.get("input_tokens") or 0), int(row.get("output_tokens") or 0), "batch"
        ),
    )


def _error_of(body: str) -> tuple[str | None, str | None]:
    """The ``code`` (else ``type``) and ``message`` of an error envelope."""
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return None, None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None, None
    code = error.get("code") or error.get("type")
    message = error.get("message")
    return (str(code) if code else None), (str(message) if message is not None else None)


def error_counts(failed: Iterable[tuple[int, str]]) -> list[ErrorCount]:
    """Failed answers counted by error code (``http_<status>`` when the body names none), most frequent first."""
    counts: dict[str, int] = {}
    for status_code, body in failed:
        code = _error_of(body)[0] or f"http_{status_code}"
        counts[code] = counts.get(code, 0) + 1
    return [ErrorCount(code=c, count=n) for c, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def requests_by_state(counts: Mapping[str, int]) -> dict[str, int]:
    """Every request state, with 0 for those no request is in."""
    return {state.value: int(counts.get(state.value, 0)) for state in RequestState}


def _add(into: dict[str, Any], group: UsageGroup, money: Mapping[str, Any]) -> None:
    into["requests"] += group.requests
    into["failed"] += group.failed
    into["input_tokens"] += group.input_tokens
    into["output_tokens"] += group.output_tokens
    for name in ("synchronous_usd", "cost_usd", "saving_usd"):
        if money[name] is not None:
            into[name] = (into[name] or 0.0) + money[name]


def _empty(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "requests": 0,
        "failed": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "synchronous_usd": None,
        "cost_usd": None,
        "saving_usd": None,
    }


def window_totals(groups: Sequence[UsageGroup], prices: PriceTable) -> WindowTotals:
    """Per model, per tenant and overall sums of ``groups`` (money only over the models with a price)."""
    by_model: dict[str, dict[str, Any]] = {}
    by_tenant: dict[str, dict[str, Any]] = {}
    overall = _empty("all")
    for group in groups:
        money = _money(prices, group.model, group.input_tokens, group.output_tokens, group.answered_by)
        _add(by_model.setdefault(group.model, _empty(group.model)), group, money)
        _add(by_tenant.setdefault(group.tenant, _empty(group.tenant)), group, money)
        _add(overall, group, money)
    return WindowTotals(
        by_model=[UsageTotal(**by_model[k]) for k in sorted(by_model)],
        by_tenant=[UsageTotal(**by_tenant[k]) for k in sorted(by_tenant)],
        overall=UsageTotal(**overall),
    )


def _answer(row: AnswerRow) -> AnswerView:
    code, message = _error_of(row.body) if row.status != "completed" else (None, None)
    return AnswerView(
        request_id=row.request_id,
        status=row.status,
        status_code=row.status_code,
        error_code=code,
        error_message=message,
        upstream_request_id=row.upstream_request_id,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
    )


def batch_detail(row: Mapping[str, Any], answers: Sequence[AnswerRow], prices: PriceTable, now: float) -> BatchDetail:
    """One batch with its own errors, the provider's ids and its stored answers."""
    errors = render_batch(row)["errors"]
    return BatchDetail(
        batch=batch_view(row, prices, now),
        upstream=UpstreamIds(
            batch_id=row.get("upstream_batch_id"),
            input_file_id=row.get("input_file_id"),
            output_file_id=row.get("output_file_id"),
            error_file_id=row.get("error_file_id"),
        ),
        errors=list(errors["data"]) if errors else [],
        answers=[_answer(a) for a in answers],
    )
