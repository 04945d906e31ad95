"""Open batches are found in the database at start, resumed after a restart, and shared by several workers
without two of them handling the same batch (leases taken by atomic conditional UPDATEs)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

from openai import OpenAI
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select

from batchgpt.store.leases import claim_due
from batchgpt.store.tables import requests
from resolver.app import RunningResolver, running_resolver
from tests.resolver.collator_role import make_request, submit_as_collator
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until


def test_concurrent_claims_never_hand_a_batch_to_two_workers(
    db_engine: Engine, openai_sync: OpenAI, unique_id: str
) -> None:
    ids = [
        submit_as_collator(client=openai_sync, engine=db_engine, members=[make_request(f"cl-{unique_id}-{i}", "x")])
        for i in range(8)
    ]
    barrier = threading.Barrier(2)
    claimed: dict[str, list[str]] = {}

    def claim(owner: str) -> None:
        barrier.wait()
        claimed[owner] = claim_due(db_engine, owner=owner, now=time.time(), lease_seconds=30, limit=8)

    threads = [threading.Thread(target=claim, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(claimed["w1"]) & set(claimed["w2"])
    assert sorted(claimed["w1"] + claimed["w2"]) == sorted(ids)
    assert claim_due(db_engine, owner="w3", now=time.time(), lease_seconds=30, limit=8) == []


async def test_batches_in_the_database_are_found_at_start_without_any_event(rig: ResolverRig, unique_id: str) -> None:
    members = [make_request(f"db-{unique_id}-{i}", f"q{i}") for i in range(3)]
    batch_id = rig.submit(members)  # no event published
    await rig.resolve(batch_id)
    replies = await rig.wait_replies(3)
    assert sorted(r.request_id for r in replies) == sorted(m.request_id for m in members)


async def test_restart_resumes_a_batch_left_in_progress(rig: ResolverRig, unique_id: str) -> None:
    rig.sim.configure(in_progress_seconds=1.5)
    members = [make_request(f"rs-{unique_id}-{i}", f"q{i}") for i in range(4)]
    batch_id = rig.submit(members)

    async with running_resolver(rig.settings):
        await wait_until(lambda: rig.row(batch_id).status == "in_progress", what="in_progress")
        with rig.engine.connect() as conn:
            states = set(conn.execute(select(requests.c.state)).scalars())
        assert states == {"in_progress"}
    assert rig.row(batch_id).resolved_at is None
    assert rig.row(batch_id).lease_owner is None  # released on clean shutdown

    [row] = await rig.resolve(batch_id)
    assert row.status == "completed"
    replies = await rig.wait_replies(4)
    assert Counter(r.request_id for r in replies) == Counter({m.request_id: 1 for m in members})


async def test_two_workers_share_open_batches_and_answer_each_request_once(rig: ResolverRig, unique_id: str) -> None:
    settings = rig.settings.model_copy(update={"max_concurrent_batches": 1})
    batches = [[make_request(f"sh-{unique_id}-{b}-{i}", f"batch {b} q{i}") for i in range(3)] for b in range(6)]
    ids = [rig.submit(m) for m in batches]
    async with (
        running_resolver(settings, registry=CollectorRegistry(), owner="worker-a") as first,
        running_resolver(settings, registry=CollectorRegistry(), owner="worker-b") as second,
    ):
        await asyncio.gather(*(wait_resolved(rig.engine, batch_id) for batch_id in ids))

    replies = await rig.wait_replies(18)
    assert Counter(r.request_id for r in replies) == Counter({m.request_id: 1 for b in batches for m in b})

    def resolved_by(worker: RunningResolver) -> float:
        registry = worker.metrics.registry
        return registry.get_sample_value("batchgpt_resolver_batches_resolved_total", {"status": "completed"}) or 0.0

    assert resolved_by(first) >= 1 and resolved_by(second) >= 1
    assert resolved_by(first) + resolved_by(second) == 6


async def test_a_batch_recorded_already_terminal_is_polled_for_its_files_and_answered(
    rig: ResolverRig, unique_id: str
) -> None:
    """A restarted collator may adopt an upstream batch that already finished and record it as ``completed``
    without file ids; the resolver must still read the output file rather than answer ``missing_result``."""
    from sqlalchemy import update

    from batchgpt.store.tables import batches

    members = [make_request(f"ad-{unique_id}-{i}", f"q{i}") for i in range(3)]
    batch_id = rig.submit(members)
    upstream_id = rig.row(batch_id).upstream_batch_id
    await wait_until(lambda: rig.client.batches.retrieve(upstream_id).status == "completed", what="upstream done")
    with rig.engine.begin() as conn:  # what the collator writes when it adopts a finished upstream batch
        conn.execute(update(batches).where(batches.c.id == batch_id).values(status="completed"))
    await rig.resolve(batch_id)
    replies = await rig.wait_replies(3)
    assert sorted(r.request_id for r in replies) == sorted(m.request_id for m in members)
    assert {r.status_code for r in replies} == {200}
    assert rig.row(batch_id).output_file_id is not None


async def test_a_result_download_three_leases_long_keeps_its_lease_while_another_worker_waits(
    rig: ResolverRig, unique_id: str
) -> None:
    """The worker's heartbeat extends the lease while it waits for a slow result file: the other worker never
    takes the batch over (the file is read once) and every member is answered once."""
    settings = rig.settings.model_copy(update={"lease_seconds": 1.0})
    rig.sim.inject(kind="slow_download", delay_seconds=3.0)
    members = [make_request(f"hb-{unique_id}-{i}", f"q{i}") for i in range(4)]
    batch_id = rig.submit(members)
    async with (
        running_resolver(settings, registry=CollectorRegistry(), owner="worker-a"),
        running_resolver(settings, registry=CollectorRegistry(), owner="worker-b"),
    ):
        await wait_resolved(rig.engine, batch_id)

    stats = rig.sim.stats()
    assert stats["faults_fired"] == 1 and stats["faults_pending"] == []  # the download really was slow
    assert stats["api_calls"]["files.content"] == 1, "a second worker took the batch over and read it again"
    replies = await rig.wait_replies(4)
    assert Counter(r.request_id for r in replies) == Counter({m.request_id: 1 for m in members})
