"""Upstream errors are retried with backoff honouring Retry-After (a failed download is retried without
answering anyone twice); the metrics report batches by state, lines, fan-out time, tokens and saving."""

from __future__ import annotations

import json
import time
from collections import Counter

from prometheus_client import generate_latest
from sqlalchemy import select

from batchgpt.pricing import estimate_saving
from batchgpt.store.tables import results
from resolver.app import running_resolver
from tests.resolver.collator_role import make_request
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until


async def test_rate_limited_polls_back_off_for_retry_after(rig: ResolverRig, unique_id: str) -> None:
    members = [make_request(f"rl-{unique_id}", "hello")]
    batch_id = rig.submit(members)
    rig.sim.inject(kind="http_error", route="batches.retrieve", status=429, retry_after_seconds=0.8, count=2)
    started = time.monotonic()
    async with running_resolver(rig.settings) as resolver:
        await wait_resolved(rig.engine, batch_id)
    elapsed = time.monotonic() - started
    errors = resolver.metrics.registry.get_sample_value(
        "batchgpt_resolver_upstream_errors_total", {"operation": "batches.retrieve"}
    )
    assert errors == 2
    assert elapsed >= 1.6  # two consecutive 429s, each honoured for 0.8 s (the poll interval is 0.05 s)


async def test_a_failed_result_download_is_retried_and_answers_each_request_once(
    rig: ResolverRig, unique_id: str
) -> None:
    members = [make_request(f"dl-{unique_id}-{i}", f"q{i}") for i in range(20)]
    batch_id = rig.submit(members)
    rig.sim.inject(kind="http_error", route="files.content", status=500, count=1)
    async with running_resolver(rig.settings) as resolver:
        await wait_resolved(rig.engine, batch_id)
    assert (
        resolver.metrics.registry.get_sample_value(
            "batchgpt_resolver_upstream_errors_total", {"operation": "files.content"}
        )
        == 1
    )
    replies = await rig.wait_replies(20)
    assert Counter(r.request_id for r in replies) == Counter({m.request_id: 1 for m in members})


async def test_metrics_report_states_lines_fanout_time_tokens_and_saving(rig: ResolverRig, unique_id: str) -> None:
    members = [make_request(f"mt-{unique_id}-{i}", f"q{i}") for i in range(3)]
    members.append(make_request(f"mt-{unique_id}-bad", "x [sim:error=400]"))
    batch_id = rig.submit(members)
    async with running_resolver(rig.settings) as resolver:
        registry = resolver.metrics.registry

        def open_batches() -> float:
            statuses = ("validating", "in_progress", "finalizing", "completed")
            return sum(
                registry.get_sample_value("batchgpt_resolver_open_batches", {"status": s}) or 0 for s in statuses
            )

        await wait_until(lambda: open_batches() == 1, what="the batch counted as open")
        row = await wait_resolved(rig.engine, batch_id)
        await wait_until(lambda: open_batches() == 0, what="the batch no longer open")
    sample = registry.get_sample_value
    assert sample("batchgpt_resolver_lines_total", {"outcome": "completed"}) == 3
    assert sample("batchgpt_resolver_lines_total", {"outcome": "failed"}) == 1
    assert sample("batchgpt_resolver_fanout_seconds_count") == 1
    assert sample("batchgpt_resolver_batches_resolved_total", {"status": "completed"}) == 1
    assert sample("batchgpt_resolver_status_changes_total", {"status": "completed"}) == 1
    assert sample("batchgpt_resolver_tokens_total", {"model": "gpt-4o-mini", "kind": "input"}) == row.input_tokens > 0
    assert sample("batchgpt_resolver_tokens_total", {"model": "gpt-4o-mini", "kind": "output"}) == row.output_tokens
    expected = estimate_saving("gpt-4o-mini", row.input_tokens, row.output_tokens)
    assert expected is not None and expected.saving_usd > 0
    assert sample("batchgpt_resolver_estimated_saving_usd_total", {"model": "gpt-4o-mini"}) == expected.saving_usd
    per_tenant = {"model": "gpt-4o-mini", "tenant": row.tenant}
    assert sample("batchgpt_resolver_tenant_tokens_total", {**per_tenant, "kind": "input"}) == row.input_tokens
    assert sample("batchgpt_resolver_tenant_tokens_total", {**per_tenant, "kind": "output"}) == row.output_tokens
    assert sample("batchgpt_resolver_tenant_saving_usd_total", per_tenant) == expected.saving_usd
    assert sample("batchgpt_resolver_batch_cost_usd_total", per_tenant) == expected.batch_usd
    # each answer's own tokens are stored with it (from its body's usage); the failed line has none
    with rig.engine.connect() as conn:
        stored = conn.execute(
            select(results.c.status, results.c.body, results.c.input_tokens, results.c.output_tokens).where(
                results.c.batch_id == batch_id
            )
        ).all()
    completed = [r for r in stored if r.status == "completed"]
    assert len(completed) == 3 and all(
        (r.input_tokens, r.output_tokens)
        == (json.loads(r.body)["usage"]["prompt_tokens"], json.loads(r.body)["usage"]["completion_tokens"])
        for r in completed
    )
    assert [(r.input_tokens, r.output_tokens) for r in stored if r.status == "failed"] == [(None, None)]
    assert b"batchgpt_resolver_fanout_seconds_bucket" in generate_latest(registry)
