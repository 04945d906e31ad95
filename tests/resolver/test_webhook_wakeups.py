"""A provider's notice (``notified`` on the batches topic, as the ingress publishes it for a verified webhook) makes
the resolver poll that batch at once, with polls five minutes apart; also when it arrives while another worker is
stepping the batch and then releases it with its next poll five minutes away."""

from __future__ import annotations

import time

from confluent_kafka import Producer
from openai import OpenAI

from batchgpt.store import leases
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from schemas import BatchEvent, BatchEventKind, BatchStatus, encode
from tests.resolver.collator_role import make_request
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until

MINUTES = 300.0


def _notify(rig: ResolverRig, batch_id: str) -> None:
    """Publish the ``notified`` event the ingress publishes for a verified ``batch.completed`` webhook."""
    producer = Producer({"bootstrap.servers": rig.kafka.kafka_bootstrap_servers})
    event = BatchEvent(batch_id=batch_id, kind=BatchEventKind.NOTIFIED, status=BatchStatus.COMPLETED)
    producer.produce(rig.kafka.topics.batches, encode(event), key=batch_id)
    assert producer.flush(10) == 0


async def _wait_ended_upstream(rig: ResolverRig, batch_id: str) -> None:
    """Wait until the simulator finished the batch: a provider sends its webhook only then."""
    upstream_id = rig.row(batch_id).upstream_batch_id
    client = OpenAI(base_url=rig.sim.base_url, api_key="sk-test", max_retries=0)
    await wait_until(
        lambda: client.batches.retrieve(upstream_id).status == "completed", what="the batch completed upstream"
    )


def _slow_polls(rig: ResolverRig) -> ResolverSettings:
    return ResolverSettings.model_validate({**rig.settings.model_dump(), "poll_interval_seconds": MINUTES})


async def test_a_notice_makes_a_batch_polled_now_instead_of_minutes_later(rig: ResolverRig, unique_id: str) -> None:
    batch_id = rig.submit([make_request(f"n-{unique_id}", "notice me")])
    now = time.time()
    assert leases.claim_due(rig.engine, owner="earlier-poll", now=now, lease_seconds=5, limit=1) == [batch_id]
    leases.release(rig.engine, batch_id=batch_id, owner="earlier-poll", next_poll_at=now + MINUTES, cancel_poll_at=0)
    await _wait_ended_upstream(rig, batch_id)
    async with running_resolver(_slow_polls(rig)):
        _notify(rig, batch_id)
        row = await wait_resolved(rig.engine, batch_id, timeout_s=15)
    assert row.status == BatchStatus.COMPLETED.value


async def test_a_notice_during_another_workers_step_survives_its_release(rig: ResolverRig, unique_id: str) -> None:
    batch_id = rig.submit([make_request(f"s-{unique_id}", "notice me mid-step")])
    now = time.time()
    assert leases.claim_due(rig.engine, owner="first", now=now, lease_seconds=5, limit=1) == [batch_id]
    leases.release(rig.engine, batch_id=batch_id, owner="first", next_poll_at=now + MINUTES, cancel_poll_at=0)
    await _wait_ended_upstream(rig, batch_id)
    # another worker is stepping the batch (its lease is live) when the notice comes
    later = now + MINUTES + 1
    assert leases.claim_due(rig.engine, owner="stepper", now=later, lease_seconds=60, limit=1) == [batch_id]
    async with running_resolver(_slow_polls(rig)):
        _notify(rig, batch_id)
        await wait_until(lambda: rig.row(batch_id).next_poll_at <= time.time(), what="the notice made it due")
        # the step ends and releases the batch with its next poll minutes away, over the notice
        leases.release(
            rig.engine, batch_id=batch_id, owner="stepper", next_poll_at=time.time() + MINUTES, cancel_poll_at=0
        )
        row = await wait_resolved(rig.engine, batch_id, timeout_s=15)
    assert row.status == BatchStatus.COMPLETED.value
