"""The simulator's webhooks: given a URL and a secret, it POSTs a signed OpenAI ``batch.*`` event for each batch
that ends (completed, failed, expired, cancelled), retrying while the receiver fails; the official SDK's
``webhooks.unwrap`` verifies and parses each one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI
from openai.types.webhooks import (
    BatchCancelledWebhookEvent,
    BatchCompletedWebhookEvent,
    BatchExpiredWebhookEvent,
    BatchFailedWebhookEvent,
)

from batchgpt.simulator.testing import RunningSimulator, run_simulator, wait_until
from batchgpt.webhooks.signing import new_secret
from tests.simulator.batch_inputs import chat_line, submit, wait_status
from tests.simulator.conftest import FAST
from tests.support.webhook_receiver import WebhookReceiver

SECRET = new_secret()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=2) as running:
        yield running


@pytest.fixture
def hooked_sim(receiver: WebhookReceiver) -> Iterator[RunningSimulator]:
    """A simulator announcing its batches' ends to ``receiver``."""
    with run_simulator(FAST, webhook_url=receiver.url, webhook_secret=SECRET, webhook_backoff_seconds=0.05) as running:
        yield running


def test_each_ended_batch_is_announced_once_signed_through_a_failing_receiver(
    hooked_sim: RunningSimulator, receiver: WebhookReceiver
) -> None:
    with OpenAI(base_url=hooked_sim.base_url, api_key="sk-test", max_retries=0, timeout=10) as client:
        completed = submit(client, [chat_line("a", "hello")])
        expired = submit(client, [chat_line("s", "[sim:slow] never done")])
        cancelled = submit(client, [chat_line("c", "[sim:slow] cancel me")])
        failed = client.batches.create(
            input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h"
        )
        wait_status(client, expired.id, {"in_progress"})
        hooked_sim.expire_batch(expired.id)
        wait_status(client, cancelled.id, {"in_progress"})
        client.batches.cancel(cancelled.id)
        hooked_sim.finish_cancel(cancelled.id)
        for batch in (completed, expired, cancelled, failed):
            wait_status(client, batch.id)

        accepted = wait_until(
            lambda: len(receiver.accepted()) >= 4 and receiver.accepted(), timeout=15, what="4 events"
        )
        events = [client.webhooks.unwrap(r.body, r.headers, secret=SECRET) for r in accepted]

    expected = {
        completed.id: BatchCompletedWebhookEvent,
        expired.id: BatchExpiredWebhookEvent,
        cancelled.id: BatchCancelledWebhookEvent,
        failed.id: BatchFailedWebhookEvent,
    }
    assert {event.data.id: type(event) for event in events} == expected
    for delivery, event in zip(accepted, events, strict=True):
        assert event.object == "event"
        assert event.id.startswith("evt_")
        assert delivery.headers["webhook-id"] == event.id
        assert receiver.tries(event.id) == 3  # refused twice, then accepted: each event delivered once
