"""Webhooks in, end to end: the simulator signs a ``batch.*`` event when a batch ends and POSTs it to the ingress's
``/webhooks/openai``; the ingress verifies it and publishes a wake-up; a resolver polls that batch at once. Polling
is set to five minutes, so only the webhook can answer the caller within seconds."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI
from standardwebhooks import Webhook

from batchgpt.devstack.stack import Stack
from batchgpt.webhooks.signing import new_secret
from schemas import BatchEventKind, TopicNames
from tests.resolver.topic_reader import TopicReader
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

POLL_MINUTES_S = 300.0


def _signed(secret: str, event: dict[str, Any], *, at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers of ``event``, signed by the library with ``secret`` at ``at``."""
    body = json.dumps(event)
    when = at or datetime.now(tz=UTC)
    msg_id = f"msg_{uuid.uuid4().hex}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }
    return body.encode(), headers


def _event(event_type: str, batch_id: str) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "created_at": int(time.time()),
        "data": {"id": batch_id},
    }


def _webhook_counts(stack: Stack) -> dict[str, float]:
    """``batchgpt_ingress_webhooks_received_total`` by outcome, from the ingress's ``/metrics``."""
    text = httpx.get(f"http://127.0.0.1:{stack.ingress_port}/metrics", timeout=5).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("batchgpt_ingress_webhooks_received_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('outcome="', 1)[1].split('"', 1)[0]] = float(value)
    return counts


def _notices(reader: TopicReader) -> list[str]:
    return [event.batch_id for event in reader.events() if event.kind is BatchEventKind.NOTIFIED]


async def test_a_batch_is_answered_on_the_providers_webhook_and_bad_ones_change_nothing(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(
        webhooks=True,
        poll_interval_s=POLL_MINUTES_S,
        simulator_flags={"in_progress_seconds": 2.0},  # the first poll (at submission) sees the batch running
    )
    secret = stack.env["OPENAI_WEBHOOK_SECRET"]
    hook_url = f"http://127.0.0.1:{stack.ingress_port}/webhooks/openai"
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", timeout=60)  # the SDK's default retries
    started = time.monotonic()
    reply = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"webhook {uuid.uuid4().hex}"}]
    )
    elapsed = time.monotonic() - started
    await client.close()
    assert reply.object == "chat.completion"
    assert elapsed < 20, f"answered after {elapsed:.1f}s: not on the webhook (polls are {POLL_MINUTES_S:.0f}s apart)"
    assert _webhook_counts(stack).get("notified", 0) >= 1

    upstream = OpenAI(base_url=f"{stack.simulator.root_url}/v1", api_key="sk-simulator", max_retries=0)
    [batch] = upstream.batches.list().data
    upstream.close()
    assert batch.status == "completed"
    topics = TopicNames(stack.env["BATCHGPT_TOPIC_PREFIX"])
    with TopicReader(stack.env["KAFKA_BOOTSTRAP_SERVERS"], topics.batches) as reader:
        notified_before = wait_for(lambda: _notices(reader), what="the simulator's notice on the batches topic")
        before = _webhook_counts(stack)

        with httpx.Client(timeout=10) as http:
            # signed with another secret; and correctly signed but 10 minutes old (a replay): 400, nothing published
            for body, headers in (
                _signed(new_secret(), _event("batch.completed", batch.id)),
                _signed(secret, _event("batch.completed", batch.id), at=datetime.now(tz=UTC) - timedelta(minutes=10)),
                (json.dumps(_event("batch.completed", batch.id)).encode(), {"content-type": "application/json"}),
            ):
                refused = http.post(hook_url, content=body, headers=headers)
                assert refused.status_code == 400
                error = refused.json()["error"]
                assert error["type"] == "invalid_request_error"
                assert error["code"] == "invalid_signature"
                assert set(error) == {"message", "type", "param", "code"}

            # valid, but about a batch that is not ours, or of a type we do not act on: acknowledged, ignored
            for event in (_event("batch.completed", "batch_not_ours"), _event("fine_tuning.job.succeeded", batch.id)):
                body, headers = _signed(secret, event)
                assert http.post(hook_url, content=body, headers=headers).status_code == 200

            # the same valid event delivered twice (a re-delivery within the tolerance): acknowledged, harmless
            body, headers = _signed(secret, _event("batch.completed", batch.id))
            assert http.post(hook_url, content=body, headers=headers).status_code == 200
            assert http.post(hook_url, content=body, headers=headers).status_code == 200

        after = _webhook_counts(stack)
        assert after.get("invalid_signature", 0) - before.get("invalid_signature", 0) == 3
        assert after.get("ignored", 0) - before.get("ignored", 0) == 2
        assert after.get("notified", 0) - before.get("notified", 0) == 2
        wait_for(lambda: len(_notices(reader)) == len(notified_before) + 2, what="the two valid notices published")
    assert stack.simulator.stats()["duplicate_custom_ids"] == []
    # the re-delivered notices found the batch resolved: the caller got one answer, no line went upstream again
    assert stack.simulator.stats()["lines_submitted"] == 1
