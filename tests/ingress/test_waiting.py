"""Waiting: the wait limit, ``Prefer: wait=N`` / ``respond-async``, 202 with Location and polling by id."""

from __future__ import annotations

import time

import httpx

from batchgpt.simulator.answers import expected_chat_content
from tests.ingress.conftest import ALICE, BOB, Stack
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}


def _chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def test_respond_async_answers_202_at_once_then_get_returns_the_completion(stack: Stack, prompt) -> None:
    text = prompt("async-poll")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        accepted = http.post("/v1/chat/completions", json=_chat(text), headers={"Prefer": "respond-async"})
        assert accepted.status_code == 202
        body = accepted.json()
        request_id = body["id"]
        assert request_id.startswith("req_") and body["object"] == "batchgpt.request"
        assert body["status"] in {"queued", "submitted", "in_progress"}
        assert accepted.headers["location"] == f"/v1/chat/completions/{request_id}"
        assert int(accepted.headers["retry-after"]) >= 1
        assert accepted.headers["x-request-id"]

        def fetched() -> httpx.Response | None:
            response = http.get(accepted.headers["location"])
            return response if response.status_code == 200 else None

        done = wait_for(fetched, timeout_s=20, what="GET to return 200")
        assert done.json()["choices"][0]["message"]["content"] == expected_chat_content(_chat(text))


def test_wait_limit_gives_202_with_state_and_get_reports_pending(stack: Stack, prompt) -> None:
    text = prompt("[hold] prefer-wait")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        started = time.monotonic()
        held = http.post("/v1/chat/completions", json=_chat(text), headers={"Prefer": "wait=1"})
        elapsed = time.monotonic() - started
        assert held.status_code == 202 and 0.9 <= elapsed < 5
        request_id = held.json()["id"]
        wait_for(
            lambda: http.get(f"/v1/chat/completions/{request_id}").json().get("status") == "submitted",
            timeout_s=15,
            what="state submitted",
        )
        pending = http.get(f"/v1/chat/completions/{request_id}")
        assert pending.status_code == 202 and pending.headers["retry-after"]
        # a GET may itself wait: the release arrives while it is held
        stack.stand_in.release(request_id)
        done = http.get(f"/v1/chat/completions/{request_id}", headers={"Prefer": "wait=10"})
        assert done.status_code == 200
        assert done.json()["choices"][0]["message"]["content"] == expected_chat_content(_chat(text))


def test_get_with_prefer_wait_is_woken_by_the_reply(stack: Stack, prompt) -> None:
    import threading

    text = prompt("[hold] get-wait")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        request_id = http.post("/v1/chat/completions", json=_chat(text), headers={"Prefer": "respond-async"}).json()[
            "id"
        ]
        wait_for(lambda: stack.stand_in.message(request_id), timeout_s=15, what="request consumed")
        held_calls = stack.ingress.service.metrics.held
        result: dict[str, httpx.Response] = {}
        waiter = threading.Thread(
            target=lambda: result.setdefault(
                "r", http.get(f"/v1/chat/completions/{request_id}", headers={"Prefer": "wait=20"})
            )
        )
        waiter.start()
        wait_for(lambda: held_calls._value.get() >= 1, timeout_s=10, what="the GET to be held")
        stack.stand_in.release(request_id)
        waiter.join(timeout=20)
        assert result["r"].status_code == 200


def test_sdk_sees_202_as_raw_response_with_prefer_header(stack: Stack, prompt) -> None:
    text = prompt("sdk-202")
    client = stack.client()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        extra_headers={"Prefer": "respond-async"},
    )
    assert raw.status_code == 202
    assert raw.headers["location"].startswith("/v1/chat/completions/req_")


def test_streamed_call_past_the_wait_it_asked_for_gets_202_before_any_event(stack: Stack, prompt) -> None:
    text = prompt("[hold] stream-timeout")
    raw = stack.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        stream=True,
        extra_headers={"Prefer": "wait=0.6"},
    )
    assert raw.status_code == 202  # the headers wait for the result; a call that asked for a wait gets its 202
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.headers["location"].startswith("/v1/chat/completions/req_")


def test_get_of_unknown_or_other_callers_request_is_404(stack: Stack, prompt) -> None:
    text = prompt("owner")
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        made = http.post("/v1/chat/completions", json=_chat(text), headers={**AUTH, "Prefer": "respond-async"})
        request_id = made.json()["id"]
        other = http.get(f"/v1/chat/completions/{request_id}", headers={"Authorization": f"Bearer {BOB}"})
        assert other.status_code == 404
        assert other.json()["error"]["code"] == "request_not_found"
        unknown = http.get("/v1/chat/completions/req_nope", headers=AUTH)
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "invalid_request_error"


def test_failed_request_get_returns_its_error(stack: Stack, prompt) -> None:
    text = prompt("[sim:error=429:rate_limit_exceeded] get-error")
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        request_id = http.post("/v1/chat/completions", json=_chat(text), headers={"Prefer": "respond-async"}).json()[
            "id"
        ]
        failed = wait_for(
            lambda: (r := http.get(f"/v1/chat/completions/{request_id}")).status_code != 202 and r,
            timeout_s=20,
            what="the failure",
        )
        assert failed.status_code == 429
        assert failed.json()["error"]["code"] == "rate_limit_exceeded"
