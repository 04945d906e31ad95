"""A cancel requested through the store's ``request_cancel`` (the one ingress calls for
``POST /v1/batches/{id}/cancel``) is carried out upstream once, and the batch's members are answered:
finished lines with their completion, the rest ``batch_cancelled``, none resubmitted."""

from __future__ import annotations

from batchgpt.simulator.testing import RunningSimulator
from batchgpt.store.batches import request_cancel
from resolver.app import running_resolver
from schemas import ReplyStatus
from tests.resolver.collator_role import make_request
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until
from tests.resolver.topic_reader import TopicReader


def _executed(sim: RunningSimulator, upstream_id: str) -> int:
    details = sim.stats(include_custom_ids=False)["batch_details"]
    return next(d["lines_executed"] for d in details if d["id"] == upstream_id)


async def test_user_cancel_answers_members_and_resubmits_nothing(
    rig: ResolverRig, requests_reader: TopicReader, unique_id: str
) -> None:
    rig.sim.configure(slow_line_seconds=30.0)
    fast = [make_request(f"uf-{unique_id}-{i}", f"quick {i}") for i in range(2)]
    slow = [make_request(f"us-{unique_id}-{i}", f"slow {i} [sim:slow]") for i in range(2)]
    batch_id = rig.submit([*fast, *slow])
    upstream_id = rig.row(batch_id).upstream_batch_id

    async with running_resolver(rig.settings):
        await wait_until(lambda: _executed(rig.sim, upstream_id) == 2, what="fast lines done upstream")
        await wait_until(lambda: rig.row(batch_id).status == "in_progress", what="in_progress seen")
        flagged = request_cancel(rig.engine, batch_id=batch_id, tenant="default")
        assert flagged is not None and flagged["cancel_requested"] is True
        row = await wait_resolved(rig.engine, batch_id)

    assert row.status == "cancelled" and row.cancel_requested
    assert rig.sim.stats(include_custom_ids=False)["api_calls"].get("batches.cancel") == 1
    replies = await rig.wait_replies(4, what="four replies")
    by_id = {r.request_id: r for r in replies}
    assert len(replies) == 4
    assert all(by_id[f.request_id].status is ReplyStatus.COMPLETED for f in fast)
    for member in slow:
        assert by_id[member.request_id].status_code == 409
        assert by_id[member.request_id].body["error"]["code"] == "batch_cancelled"
    assert requests_reader.requests() == []  # resubmissions would have been delivered before resolved_at
    again = request_cancel(rig.engine, batch_id=batch_id, tenant="default")  # already cancelled and resolved
    assert again is not None and again["status"] == "cancelled" and again["resolved_at"] == row.resolved_at
    assert request_cancel(rig.engine, batch_id=batch_id, tenant="someone-else") is None
