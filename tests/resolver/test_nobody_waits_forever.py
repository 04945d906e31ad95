"""Nobody waits forever: a batch the upstream no longer knows, or a result file it deleted, still ends in
an answer for every member; and a ``submitted`` batch event wakes an idle worker at once."""

from __future__ import annotations

import time

from sqlalchemy import update

from batchgpt.store.tables import batches
from resolver.app import running_resolver
from schemas import ReplyStatus
from tests.resolver.collator_role import announce, make_request
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until


async def test_a_batch_unknown_upstream_is_answered_batch_not_found(rig: ResolverRig, unique_id: str) -> None:
    members = [make_request(f"gone-{unique_id}-{i}", f"q{i}") for i in range(2)]
    batch_id = rig.submit(members)
    with rig.engine.begin() as conn:
        conn.execute(update(batches).where(batches.c.id == batch_id).values(upstream_batch_id="batch_vanished"))

    async with running_resolver(rig.settings) as resolver:
        row = await wait_resolved(rig.engine, batch_id)

    assert row.status == "failed"
    replies = await rig.wait_replies(2, what="two replies")
    for reply in replies:
        assert reply.status is ReplyStatus.FAILED and reply.status_code == 502
        assert reply.body["error"]["code"] == "batch_not_found"
    errors = resolver.metrics.registry.get_sample_value(
        "batchgpt_resolver_upstream_errors_total", {"operation": "batches.retrieve"}
    )
    assert errors == 3  # given up after three consecutive 404s, not at the first


async def test_a_deleted_output_file_ends_in_missing_result_not_in_a_wait(rig: ResolverRig, unique_id: str) -> None:
    members = [make_request(f"nofile-{unique_id}-{i}", f"q{i}") for i in range(2)]
    batch_id = rig.submit(members)
    upstream_id = rig.row(batch_id).upstream_batch_id
    done = await wait_until(
        lambda: (b := rig.client.batches.retrieve(upstream_id)).status == "completed" and b, what="upstream done"
    )
    rig.client.files.delete(done.output_file_id)

    await rig.resolve(batch_id)

    replies = await rig.wait_replies(2, what="two replies")
    assert {(r.status_code, r.body["error"]["code"]) for r in replies} == {(502, "missing_result")}


async def test_a_submitted_event_wakes_an_idle_worker(rig: ResolverRig, unique_id: str) -> None:
    settings = rig.settings.model_copy(update={"idle_scan_seconds": 60.0})
    async with running_resolver(settings) as resolver:
        gauge = resolver.metrics.registry.get_sample_value
        # the gauges are refreshed right before the worker idles: nothing is open, its next scan is in 60 s
        await wait_until(lambda: gauge("batchgpt_resolver_open_batches", {"status": "completed"}) == 0, what="idle")
        batch_id = rig.submit([make_request(f"wake-{unique_id}", "hi")])
        started = time.monotonic()
        announce(rig.kafka, batch_id)
        await wait_resolved(rig.engine, batch_id, timeout_s=30)
    assert time.monotonic() - started < 30  # well before the 60 s scan would have found it
