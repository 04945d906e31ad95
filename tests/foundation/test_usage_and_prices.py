"""Tokens read from each endpoint's ``usage``, the price table and its file, and the dashboard's pure figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchgpt.pricing import DEFAULT_PRICES, load_price_table
from batchgpt.settings import SettingsError, load_settings
from batchgpt.store.dashboard import UsageGroup
from batchgpt.usage import TokenCount, usage_of
from ingress.dashboard.figures import error_counts, eta_seconds, window_totals
from ingress.settings import IngressSettings
from resolver.settings import ResolverSettings


@pytest.mark.parametrize(
    ("endpoint", "usage", "expected"),
    [
        ("/v1/chat/completions", {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}, (7, 3)),
        ("/v1/completions", {"prompt_tokens": 5, "completion_tokens": 2}, (5, 2)),
        ("/v1/responses", {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}, (11, 4)),
        ("/v1/embeddings", {"prompt_tokens": 9, "total_tokens": 9}, (9, 0)),
        ("/v1/messages", {"input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 0}, (12, 6)),
        (None, {"input_tokens": 2, "output_tokens": 1}, (2, 1)),
        (None, {"prompt_tokens": 2, "completion_tokens": 1}, (2, 1)),
    ],
)
def test_usage_is_read_by_the_endpoint_that_answered(
    endpoint: str | None, usage: dict[str, Any], expected: tuple[int, int]
) -> None:
    assert usage_of(endpoint, {"id": "x", "usage": usage}) == TokenCount(*expected)


@pytest.mark.parametrize(
    "body", [{"id": "x"}, {"usage": None}, {"usage": {"prompt_tokens": "7"}}, {"usage": {"prompt_tokens": -1}}, []]
)
def test_a_body_without_usable_usage_reports_none(body: Any) -> None:
    assert usage_of("/v1/chat/completions", body) is None


def test_prices_batch_half_sync_full_and_snapshots_of_their_family() -> None:
    batched = DEFAULT_PRICES.costs("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000)
    assert batched is not None
    assert (batched.synchronous_usd, batched.batch_usd, batched.saving_usd) == pytest.approx((0.75, 0.375, 0.375))
    fallback = DEFAULT_PRICES.costs("gpt-4o-mini", 1_000_000, 1_000_000, answered_by="sync")
    assert fallback is not None and (fallback.batch_usd, fallback.saving_usd) == pytest.approx((0.75, 0.0))
    flex = DEFAULT_PRICES.costs("gpt-4o-mini", 1_000_000, 1_000_000, answered_by="flex")
    assert flex == batched
    assert DEFAULT_PRICES.price_for("claude-sonnet-4-5-20250929") == DEFAULT_PRICES.price_for("claude-sonnet-4-5")
    assert DEFAULT_PRICES.costs("my-finetune", 1, 1) is None


def test_a_price_file_adds_models_and_negotiated_rates(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text(
        "batch_discount = 0.4\n"
        '[models."my-model"]\ninput = 1.0\noutput = 2.0\n'
        '[models."gpt-4o"]\ninput = 2.5\noutput = 10.0\nbatch_input = 1.0\n'
    )
    table = load_price_table(toml)
    mine = table.costs("my-model", 1_000_000, 1_000_000)
    assert mine is not None and (mine.synchronous_usd, mine.batch_usd) == pytest.approx((3.0, 1.2))
    gpt4o = table.costs("gpt-4o", 1_000_000, 1_000_000)  # negotiated input rate, output at the file's discount
    assert gpt4o is not None and gpt4o.batch_usd == pytest.approx(1.0 + 4.0)
    as_json = tmp_path / "prices.json"
    as_json.write_text(json.dumps({"models": {"my-model": {"input": 1.0, "output": 2.0}}}))
    assert load_price_table(as_json).price_for("my-model") == table.price_for("my-model")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid"),
        (json.dumps({"models": {"m": {"output": 1.0}}}), "input"),
        (json.dumps({"models": {"m": {"input": 1.0, "typo": 1}}}), "typo"),
        (json.dumps({"batch_discount": 2}), "batch_discount"),
    ],
)
def test_a_bad_price_file_stops_the_services_that_read_it_naming_the_variable(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(text)
    for settings in (IngressSettings, ResolverSettings):
        with pytest.raises(SettingsError, match=f"BATCHGPT_PRICES_FILE.*{problem}"):
            load_settings(settings, {"BATCHGPT_PRICES_FILE": str(path)})
    with pytest.raises(SettingsError, match="BATCHGPT_PRICES_FILE.*cannot read"):
        load_settings(IngressSettings, {"BATCHGPT_PRICES_FILE": str(tmp_path / "missing.json")})


def test_eta_is_the_pace_so_far_and_none_before_the_first_answer_or_after_the_end() -> None:
    row = {"status": "in_progress", "request_total": 10, "request_completed": 3, "request_failed": 1}
    assert eta_seconds({**row, "created_at": 0.0, "submitted_at": 40.0}, now=100.0) == pytest.approx(60 * 6 / 4)
    assert eta_seconds({**row, "request_completed": 0, "request_failed": 0, "created_at": 0.0}, now=100.0) is None
    assert eta_seconds({**row, "status": "completed", "created_at": 0.0}, now=100.0) is None


def test_totals_price_each_way_of_answering_and_skip_unpriced_models_in_money() -> None:
    groups = [
        UsageGroup("t_a", "gpt-4o-mini", "batch", 2, 0, 1_000_000, 0),
        UsageGroup("t_a", "gpt-4o-mini", "sync", 1, 0, 1_000_000, 0),
        UsageGroup("t_b", "unknown-model", "batch", 1, 1, 10, 10),
    ]
    totals = window_totals(groups, DEFAULT_PRICES)
    [mini, unknown] = totals.by_model
    assert (mini.key, mini.requests, mini.input_tokens) == ("gpt-4o-mini", 3, 2_000_000)
    # batch: 0.15 sync, 0.075 paid; the synchronous fallback: 0.15 paid, nothing saved
    assert (mini.synchronous_usd, mini.cost_usd, mini.saving_usd) == pytest.approx((0.30, 0.225, 0.075))
    assert (unknown.requests, unknown.failed, unknown.cost_usd) == (1, 1, None)
    assert [t.key for t in totals.by_tenant] == ["t_a", "t_b"]
    assert totals.overall.requests == 4 and totals.overall.saving_usd == pytest.approx(0.075)


def test_errors_are_counted_by_code_most_frequent_first() -> None:
    envelope = json.dumps({"error": {"message": "m", "type": "invalid_request_error", "code": "bad"}})
    typed = json.dumps({"error": {"message": "m", "type": "server_error", "code": None}})
    found = error_counts([(400, envelope), (400, envelope), (500, typed), (502, "not json")])
    assert [(e.code, e.count) for e in found] == [("bad", 2), ("http_502", 1), ("server_error", 1)]
