"""Webhooks out, end to end: a caller that asked for an asynchronous answer (``Prefer: respond-async``, a 202) is
told by a signed ``request.completed`` webhook, and the batch's end by ``batch.completed``; a caller held on the
line gets its answer and no webhook."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai import OpenAI
from standardwebhooks import Webhook

from batchgpt.devstack.stack import Stack
from batchgpt.webhooks.signing import new_secret
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def test_an_asynchronous_caller_is_told_by_a_signed_webhook(stack_factory: Callable[..., Stack]) -> None:
    secret = new_secret()
    with WebhookReceiver(fail_first=1) as receiver:
        stack = stack_factory(
            window_ms=1000,
            extra_env={
                "BATCHGPT_WEBHOOK_URL": receiver.url,
                "BATCHGPT_WEBHOOK_SECRET": secret,
                "BATCHGPT_WEBHOOK_BACKOFF_S": "0.1",
            },
        )
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"later {uuid.uuid4().hex}"}]}
        accepted = httpx.post(
            f"{stack.base_url}/chat/completions", json=body, headers={"Prefer": "respond-async"}, timeout=30
        )
        assert accepted.status_code == 202
        request_id = accepted.json()["id"]
        with OpenAI(base_url=stack.base_url, api_key="sk-any", timeout=60) as client:  # held on the line
            held = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"now {uuid.uuid4().hex}"}]
            )
        held_id = held.headers["batchgpt-request-id"]

        def events() -> list[dict[str, Any]]:
            found = [Webhook(secret).verify(r.body, r.headers) for r in receiver.accepted()]
            return found if {"request.completed", "batch.completed"} <= {e["type"] for e in found} else []

        found = wait_for(events, timeout_s=30, what="request.completed and batch.completed delivered")
    [told] = [e for e in found if e["type"] == "request.completed"]
    assert told["data"] == {
        "id": request_id,
        "status": "completed",
        "status_code": 200,
        "endpoint": "/v1/chat/completions",
    }
    assert held_id not in {e["data"]["id"] for e in found}
    fetched = httpx.get(f"{stack.base_url}/chat/completions/{request_id}", timeout=30)
    assert fetched.status_code == 200
    assert fetched.json()["object"] == "chat.completion"
