"""The ingress's webhook parts: which requests are to be announced by webhook (``notify``: the caller asked for an
asynchronous answer), and ``POST /webhooks/openai`` existing only with ``OPENAI_WEBHOOK_SECRET``."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from batchgpt.webhooks.signing import new_secret
from tests.ingress.conftest import ALICE, Stack
from tests.ingress.servers import ThreadedIngress
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}


def test_only_callers_that_asked_for_an_asynchronous_answer_are_announced(stack: Stack, prompt) -> None:
    asks = {"respond-async": {"Prefer": "respond-async"}, "wait": {"Prefer": "wait=5"}, "holds": {}}
    texts = {name: prompt(name) for name in asks}
    with httpx.Client(base_url=stack.base_url, timeout=30, headers=AUTH) as http:
        for name, headers in asks.items():
            answer = http.post(
                "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": texts[name]}]},
                headers=headers,
            )
            assert answer.status_code in (200, 202)
    notify = {name: wait_for(lambda t=text: stack.stand_in.with_text(t))[0].notify for name, text in texts.items()}
    assert notify == {"respond-async": True, "wait": True, "holds": False}


def test_the_webhook_route_exists_only_with_a_secret(
    stack: Stack, start_ingress: Callable[..., ThreadedIngress]
) -> None:
    with httpx.Client(timeout=10) as http:
        assert http.post(f"{stack.base_url}/webhooks/openai", content=b"{}").status_code == 404
        assert "/webhooks/openai" not in http.get(f"{stack.base_url}/openapi.json").json()["paths"]
        hooked = start_ingress(openai_webhook_secret=new_secret())
        refused = http.post(f"{hooked.base_url}/webhooks/openai", content=b"{}")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_signature"
        assert "/webhooks/openai" in http.get(f"{hooked.base_url}/openapi.json").json()["paths"]
