"""Webhooks out from the resolver: events for the requests whose callers asked for an asynchronous answer and for
each resolved batch, on the webhooks topic, delivered signed (Standard Webhooks) by the delivery worker with
retries and backoff, dead-lettered after the last try; a receiver that is down never holds the pipeline up."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from batchgpt.webhooks.signing import new_secret
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from schemas import DeadLetter, RequestMessage, WebhookEvent, decode
from tests.resolver.collator_role import announce, make_request
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until
from tests.resolver.test_crash_recovery import Spawn, _env, spawn  # noqa: F401 - spawn: the fixture
from tests.resolver.topic_reader import TopicReader
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver, closed_port_url


def _notifying(request: RequestMessage) -> RequestMessage:
    return request.model_copy(update={"notify": True})


def _sample(rig_metrics: Any, name: str, **labels: str) -> float:
    return float(rig_metrics.registry.get_sample_value(name, labels) or 0.0)


def _with_webhooks(settings: ResolverSettings, **values: Any) -> ResolverSettings:
    """The rig's settings with webhooks out to ``webhook_url`` (validated as at a start)."""
    return ResolverSettings.model_validate({**settings.model_dump(), "webhook_backoff_seconds": 0.05, **values})


async def test_events_reach_a_receiver_that_fails_twice_then_accepts_each_once_and_signed(
    rig: ResolverRig, unique_id: str
) -> None:
    secret = new_secret()
    waiting = _notifying(make_request(f"async-{unique_id}", "tell me later"))
    held = make_request(f"held-{unique_id}", "I wait on the line")
    batch_id = rig.submit([waiting, held])
    with WebhookReceiver(fail_first=2) as receiver:
        settings = _with_webhooks(
            rig.settings, webhook_url=receiver.url, webhook_secret=secret, webhook_backoff_max_seconds=0.2
        )
        async with running_resolver(settings) as resolver:
            await wait_resolved(rig.engine, batch_id)
            accepted = await wait_until(lambda: len(receiver.accepted()) >= 2 and receiver.accepted(), what="2 events")
            await wait_until(
                lambda: _sample(resolver.metrics, "batchgpt_webhook_deliveries_total", outcome="delivered") == 2,
                what="deliveries counted",
            )
            metrics = resolver.metrics
            assert _sample(metrics, "batchgpt_webhook_attempts_total", result="failure") == 4
            assert _sample(metrics, "batchgpt_webhook_attempts_total", result="success") == 2
            assert _sample(metrics, "batchgpt_webhook_deliveries_total", outcome="dead_lettered") == 0
            assert _sample(metrics, "batchgpt_webhook_attempt_seconds_count") == 6

    events = []
    for delivery in accepted:
        event = Webhook(secret).verify(delivery.body, delivery.headers)  # the library checks the signature
        assert delivery.headers["webhook-id"] == event["id"]
        assert receiver.tries(event["id"]) == 3  # failed twice, then accepted
        events.append(event)
    assert len({e["id"] for e in events}) == 2  # each event delivered once
    by_type = {e["type"]: e for e in events}
    assert set(by_type) == {"request.completed", "batch.completed"}  # none for the caller that waited on the line
    request_event = by_type["request.completed"]
    assert set(request_event) == {"id", "object", "type", "created_at", "data"}
    assert request_event["object"] == "event"
    assert request_event["data"] == {
        "id": waiting.request_id,
        "status": "completed",
        "status_code": 200,
        "endpoint": "/v1/chat/completions",
    }
    batch_event = by_type["batch.completed"]
    assert batch_event["data"]["id"] == batch_id
    assert batch_event["data"]["status"] == "completed"
    assert batch_event["data"]["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    first = accepted[0]
    sent_at = datetime.fromtimestamp(int(first.headers["webhook-timestamp"]), tz=UTC)
    with pytest.raises(WebhookVerificationError):  # the receiver's check refuses another secret's signature
        Webhook(new_secret()).verify(first.body, first.headers)
    assert first.headers["webhook-signature"] == Webhook(secret).sign(
        first.headers["webhook-id"], sent_at, first.body.decode()
    )


async def test_a_receiver_that_is_down_never_holds_up_the_callers_and_its_events_are_dead_lettered(
    rig: ResolverRig, unique_id: str
) -> None:
    requests = [_notifying(make_request(f"down-{i}-{unique_id}", f"down {i}")) for i in range(3)]
    batch_id = rig.submit(requests)
    settings = _with_webhooks(
        rig.settings,
        webhook_url=closed_port_url(),
        webhook_secret=new_secret(),
        webhook_max_attempts=3,
        webhook_backoff_max_seconds=0.1,
    )
    with TopicReader(rig.kafka.kafka_bootstrap_servers, rig.kafka.topics.dead_letter) as dead:
        async with running_resolver(settings) as resolver:
            await wait_resolved(rig.engine, batch_id)
            replies = await rig.replies_by_id(3)  # every caller answered, whatever the receiver does
            assert set(replies) == {r.request_id for r in requests}

            def letters() -> list[DeadLetter]:
                found = [decode(DeadLetter, s.value) for s in dead.drain()]
                return found if len(found) >= 4 else []

            found = await wait_until(letters, what="4 dead letters (3 requests, 1 batch)")
            metrics = resolver.metrics
            assert _sample(metrics, "batchgpt_webhook_deliveries_total", outcome="dead_lettered") == 4
            assert _sample(metrics, "batchgpt_webhook_attempts_total", result="failure") == 12
            assert _sample(metrics, "batchgpt_webhook_deliveries_total", outcome="delivered") == 0
    assert {letter.reason for letter in found} == {"undeliverable"}
    assert {letter.source_topic for letter in found} == {rig.kafka.topics.webhooks}
    events = [decode(WebhookEvent, letter.value.encode()) for letter in found]
    assert sorted(e.type for e in events) == ["batch.completed", *["request.completed"] * 3]
    assert {e.data["id"] for e in events if e.type == "request.completed"} == {r.request_id for r in requests}


def test_a_resolver_killed_mid_fanout_still_announces_every_asynchronous_request(
    rig: ResolverRig,
    spawn: Spawn,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    unique_id: str,
) -> None:
    secret = new_secret()
    members = [_notifying(make_request(f"kw-{unique_id}-{i:03d}", f"question {i}")) for i in range(60)]
    batch_id = rig.submit(members)
    announce(rig.kafka, batch_id)
    with WebhookReceiver() as receiver:
        hooks = {"BATCHGPT_WEBHOOK_URL": receiver.url, "BATCHGPT_WEBHOOK_SECRET": secret}
        doomed = spawn(_env(rig, BATCHGPT_TEST_CRASH_AT="mid_fanout:45", **hooks), "first")
        assert doomed.wait(timeout=60) == -signal.SIGKILL, (tmp_path / "first.log").read_text()
        assert rig.row(batch_id).resolved_at is None  # it died in the middle of the fan-out
        survivor = spawn(_env(rig, **hooks), "second")

        def told() -> set[str]:
            ids = {Webhook(secret).verify(r.body, r.headers)["data"]["id"] for r in receiver.accepted()}
            return ids if ids >= {m.request_id for m in members} | {batch_id} else set()

        wait_for(told, timeout_s=60, what="every request and the batch announced")
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=30) == 0, (tmp_path / "second.log").read_text()
