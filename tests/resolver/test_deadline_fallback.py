"""The resolver's deadline fallback on SQLite and PostgreSQL: two resolvers answer each request past its deadline
once (one synchronous call each, counted in the metrics), and a batch whose member a fallback claimed first
records that line as late instead of delivering it."""

from __future__ import annotations

import json
import time

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from batchgpt.store import deadlines
from batchgpt.store.records import ResultRow
from batchgpt.store.tables import late_lines, results
from resolver.app import running_resolver
from tests.collator.harness import request_rows
from tests.resolver.collator_role import make_request
from tests.resolver.rig import ResolverRig, wait_until
from tests.store.deadline_rows import admit_with_deadline


def _answered_by(rig: ResolverRig) -> dict[str, str]:
    with rig.engine.connect() as conn:
        return {r.request_id: r.answered_by for r in conn.execute(select(results.c.request_id, results.c.answered_by))}


def _fallbacks(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value(
        "batchgpt_resolver_deadline_fallbacks_total", {"kind": "sync", "outcome": "completed"}
    )
    return value or 0.0


async def test_two_resolvers_answer_each_request_past_its_deadline_once(rig: ResolverRig, unique_id: str) -> None:
    waiting = [make_request(f"dl-{unique_id}-{i}", f"late {i}") for i in range(8)]
    admit_with_deadline(rig.engine, waiting, deadline_at=time.time() - 1)
    settings = rig.settings.model_copy(update={"deadline_fallback": "sync", "deadline_scan_seconds": 0.05})
    registries = [CollectorRegistry(), CollectorRegistry()]
    async with running_resolver(settings, registry=registries[0]), running_resolver(settings, registry=registries[1]):
        await rig.wait_replies(len(waiting), "every request answered by the fallback")
    replies = rig.default_replies.replies()  # both resolvers stopped: everything they ever produced
    assert sorted(r.request_id for r in replies) == sorted(m.request_id for m in waiting)  # one reply each
    assert all(r.status_code == 200 and r.batch_id is None for r in replies)
    assert _answered_by(rig) == {m.request_id: "sync" for m in waiting}
    assert sum(_fallbacks(registry) for registry in registries) == len(waiting)
    assert rig.sim.stats()["api_calls"]["chat.completions"] == len(waiting)  # no request called twice


async def test_a_batch_line_whose_request_the_fallback_claimed_is_recorded_late_not_delivered(
    rig: ResolverRig, unique_id: str
) -> None:
    claimed, other = make_request(f"cl-{unique_id}", "claimed"), make_request(f"ok-{unique_id}", "answered")
    admit_with_deadline(rig.engine, [claimed, other], deadline_at=time.time() + 3600)
    batch_id = rig.submit([claimed, other])
    # another resolver's fallback claimed the first (its deadline passed) and is still calling upstream
    taken = deadlines.claim_due(rig.engine, owner="elsewhere", now=time.time() + 7200, lease_s=7200, limit=1)
    assert [c.request_id for c in taken] == [claimed.request_id]
    settings = rig.settings.model_copy(update={"deadline_fallback": "sync"})
    [row] = await rig.resolve(batch_id, settings=settings)
    assert row.resolved_at is not None
    assert rig.outcomes(batch_id) == {claimed.request_id: "late", other.request_id: "completed"}
    replies = await rig.wait_replies(1)
    assert [r.request_id for r in replies] == [other.request_id]  # the claimed request's line never went out
    with rig.engine.connect() as conn:
        late = conn.execute(select(late_lines)).one()
    assert (late.request_id, late.batch_id, late.status_code) == (claimed.request_id, batch_id, 200)
    assert json.loads(late.body)["object"] == "chat.completion"
    assert _answered_by(rig) == {other.request_id: "batch"}
    assert deadlines.claim_due(rig.engine, owner="r2", now=time.time() + 7200, lease_s=5, limit=10) == []


async def test_an_answer_a_dead_claimant_stored_is_delivered_without_a_second_call(
    rig: ResolverRig, unique_id: str
) -> None:
    request = make_request(f"st-{unique_id}", "stored before the crash")
    admit_with_deadline(rig.engine, [request], deadline_at=time.time() - 1)
    [claim] = deadlines.claim_due(rig.engine, owner="dead", now=time.time(), lease_s=0.5, limit=1)
    stored = deadlines.store_answer(
        rig.engine,
        ResultRow(claim.request_id, "default", "completed", 200, json.dumps({"object": "chat.completion"}), 1.0),
        answered_by="flex",
    )  # ... and the claimant died before delivering it
    settings = rig.settings.model_copy(update={"deadline_fallback": "sync", "deadline_scan_seconds": 0.05})
    async with running_resolver(settings):
        [reply] = await rig.wait_replies(1, "the stored answer delivered")
        await wait_until(lambda: request_rows(rig.engine)[request.request_id]["state"] == "completed")
    assert (reply.request_id, reply.body) == (request.request_id, stored.body)
    assert _answered_by(rig) == {request.request_id: "flex"}
    assert "chat.completions" not in rig.sim.stats()["api_calls"]  # the answer was there: no call
