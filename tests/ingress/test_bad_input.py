"""Every error path over raw HTTP: OpenAI's envelope, the right status and param, and nothing produced."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

from batchgpt.kafka import AsyncProducer, producer_config
from batchgpt.settings import KafkaSettings
from ingress.admission.publisher import RequestPublisher
from ingress.errors import ServiceUnavailable
from schemas.status import Endpoint
from schemas.topics import TopicNames
from tests.ingress.conftest import ALICE, Stack
from tests.ingress.servers import free_port
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}


ANY = object()  # the code is not checked


def _assert_envelope(response: httpx.Response, status: int, param: str | None = None, code: object = ANY) -> dict:
    """OpenAI's envelope with ``status``, ``param`` and ``code`` (null where OpenAI sends null), and the retry hint."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["message"]
    assert error["param"] == param
    if code is not ANY:
        assert error["code"] == code
    assert response.headers["x-request-id"]
    transient = status in (408, 429) or status >= 500
    assert response.headers["x-should-retry"] == ("true" if transient else "false")
    assert ("retry-after" in response.headers) is transient
    return error


BAD_BODIES = [
    pytest.param(b"{not json", None, None, id="not-json"),  # OpenAI: code null
    pytest.param(b"", None, None, id="empty"),
    pytest.param(b"[1, 2]", None, "invalid_type", id="array"),
    pytest.param(
        json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(),
        "model",
        "missing_required_parameter",
        id="no-model",
    ),
    pytest.param(
        json.dumps({"model": 4, "messages": [{"role": "user", "content": "x"}]}).encode(),
        "model",
        "invalid_type",
        id="model-int",
    ),
    pytest.param(json.dumps({"model": "m"}).encode(), "messages", "missing_required_parameter", id="no-messages"),
    pytest.param(json.dumps({"model": "m", "messages": "hi"}).encode(), "messages", "invalid_type", id="messages-str"),
    pytest.param(json.dumps({"model": "m", "messages": []}).encode(), "messages", "empty_array", id="messages-empty"),
    pytest.param(
        json.dumps({"model": "m", "messages": [{"content": "x"}]}).encode(), "messages[0].role", ANY, id="no-role"
    ),
    pytest.param(
        json.dumps({"model": "m", "messages": [{"role": "user"}], "stream": "yes"}).encode(),
        "stream",
        "invalid_type",
        id="stream-str",
    ),
]


@pytest.mark.parametrize(("raw", "param", "code"), BAD_BODIES)
def test_bad_chat_bodies_are_400_with_param(stack: Stack, raw: bytes, param: str | None, code: object) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        response = http.post("/v1/chat/completions", content=raw, headers={**AUTH, "content-type": "application/json"})
    error = _assert_envelope(response, 400, param, code)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "e"}, "input", "missing_required_parameter"),
        ({"model": "e", "input": 5}, "input", "invalid_type"),
        ({"model": "e", "input": []}, "input", "empty_array"),
        ({"input": "x"}, "model", "missing_required_parameter"),
    ],
)
def test_bad_embeddings_bodies_are_400_with_param(stack: Stack, body: dict, param: str, code: str) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        _assert_envelope(http.post("/v1/embeddings", json=body, headers=AUTH), 400, param, code)


def test_rejected_requests_produce_nothing(stack: Stack, prompt) -> None:
    marker = prompt("rejected")
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        http.post(
            "/v1/chat/completions", json={"model": 1, "messages": [{"role": "user", "content": marker}]}, headers=AUTH
        )
        http.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": marker}]})
        ok = http.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": marker + " fine"}]},
            headers={**AUTH, "Prefer": "respond-async"},
        )
        assert ok.status_code == 202
    # the accepted request after the rejected ones arrives; the rejected ones never do
    wait_for(lambda: stack.stand_in.with_text(marker + " fine"), timeout_s=15)
    assert len(stack.stand_in.with_text(marker)) == 1


def test_body_over_the_limit_is_413(stack: Stack) -> None:
    limit = stack.ingress.settings.max_body_bytes
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * (limit + 10)}]}
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        error = _assert_envelope(http.post("/v1/chat/completions", json=body, headers=AUTH), 413, None, None)
    assert error["type"] == "invalid_request_error"


def test_body_over_the_limit_without_content_length_is_413(stack: Stack) -> None:
    limit = stack.ingress.settings.max_body_bytes

    def chunks():
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(limit // 1000 + 2):
            yield b"y" * 1000
        yield b'"}]}'

    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        _assert_envelope(http.post("/v1/chat/completions", content=chunks(), headers=AUTH), 413, None, None)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, None),  # no key: OpenAI's code is null
        ({"Authorization": "Bearer sk-wrong"}, "invalid_api_key"),
        ({"Authorization": "Basic abc"}, None),
    ],
)
def test_missing_or_wrong_key_is_401_and_never_echoed(stack: Stack, headers: dict[str, str], code: str | None) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        response = http.post("/v1/chat/completions", json=body, headers=headers)
        error = _assert_envelope(response, 401, None, code)
        assert "sk-wrong" not in response.text
        _assert_envelope(http.get("/v1/batches", headers=headers), 401, None, code)
    assert error["type"] == "invalid_request_error"


def test_sdk_with_a_wrong_key_raises_authentication_error(stack: Stack) -> None:
    with pytest.raises(openai.AuthenticationError):
        stack.client(key="sk-nobody").chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_unknown_route_405_and_query_validation_use_the_envelope(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        _assert_envelope(http.get("/v1/nothing-here"), 404, None, None)
        _assert_envelope(http.delete("/v1/chat/completions"), 405, None, None)
        for method, path, allowed in (("TRACE", "/v1/chat/completions", "POST"), ("PUT", "/healthz", "GET")):
            refused = http.request(method, path)
            _assert_envelope(refused, 405, None, None)
            assert refused.headers["allow"] == allowed and refused.headers["x-should-retry"] == "false"
        _assert_envelope(http.get("/v1/batches", params={"limit": 0}), 400, "limit", "invalid_value")
        _assert_envelope(http.get("/get-batch-status"), 400, "batch_id", "missing_required_parameter")


def test_pending_cap_is_429_with_retry_after(stack: Stack, start_ingress, prompt) -> None:
    carol = "sk-carol-" + prompt("key").replace(" ", "-")
    server = start_ingress(max_pending_per_key=2, api_keys=f"{ALICE},{carol}")
    headers = {"Authorization": f"Bearer {carol}", "Prefer": "respond-async"}
    texts = (prompt("[hold] cap0"), prompt("[hold] cap1"), prompt("[hold] cap2"))
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        answers = [
            http.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": t}]})
            for t in texts
        ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    wait_for(lambda: stack.stand_in.with_text(texts[0]) and stack.stand_in.with_text(texts[1]), timeout_s=15)
    assert stack.stand_in.with_text(texts[2]) == [], "a request refused by the cap must not be produced"
    error = _assert_envelope(answers[2], 429, None, "rate_limit_exceeded")
    assert int(answers[2].headers["retry-after"]) >= 1 and error["type"] == "requests"
    # other callers are not limited by carol's pending requests
    alice = stack.client(base_url=server.base_url).chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": prompt("alice")}], extra_headers={"Prefer": "respond-async"}
    )
    assert alice.status_code == 202
    with pytest.raises(openai.RateLimitError):
        stack.client(key=carol, base_url=server.base_url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": prompt("[hold] sdk-cap")}]
        )


def test_message_kafka_refuses_is_503_and_nothing_is_accepted(stack: Stack, start_ingress, prompt) -> None:
    import base64
    import os

    from sqlalchemy import func, select

    from batchgpt.store.tables import requests
    from ingress.admission.fingerprint import fingerprint
    from ingress.http.auth import tenant_of

    marker = prompt("too-big-for-kafka")
    # incompressible, over the largest message batch-gpt produces (MAX_MESSAGE_BYTES), under this body limit
    noise = base64.b64encode(os.urandom(8_000_000)).decode()
    body = {"model": "m", "messages": [{"role": "user", "content": f"{marker} {noise}"}]}
    server = start_ingress(max_body_bytes=16_000_000)
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=60) as http:
        response = http.post("/v1/chat/completions", json=body)
    _assert_envelope(response, 503, None, None)
    assert int(response.headers["retry-after"]) >= 1
    print_ = fingerprint(tenant_of(ALICE), "/v1/chat/completions", body)
    with stack.engine.connect() as conn:
        kept = conn.execute(select(func.count()).where(requests.c.fingerprint == print_)).scalar_one()
    assert kept == 0, "the requests row of a refused request must be removed"
    assert stack.stand_in.with_text(marker) == []


async def test_kafka_not_acknowledging_is_service_unavailable(unique_id: str) -> None:
    dead = KafkaSettings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", topic_prefix=f"d{unique_id}.")
    producer = AsyncProducer(producer_config(dead, **{"message.timeout.ms": 1500}))
    producer.start()
    publisher = RequestPublisher(
        producer, TopicNames(dead.topic_prefix), reply_partition=None, timeout_seconds=1.0, retry_after_seconds=3
    )
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            await publisher.publish(
                publisher.message(
                    request_id="req_dead",
                    endpoint=Endpoint.CHAT_COMPLETIONS,
                    body={"model": "m"},
                    tenant="t",
                    received_at=0,
                )
            )
    finally:
        await asyncio.to_thread(producer.stop, 0.5)
    assert caught.value.status_code == 503 and caught.value.code == "broker_unavailable"
    assert "Kafka" in caught.value.message
    assert caught.value.headers() == {"x-should-retry": "true", "retry-after": "3"}


def test_an_unexpected_failure_on_the_hot_route_is_a_500_envelope_and_the_server_goes_on(
    stack: Stack, prompt, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The POST routes are served ahead of FastAPI's stack: their own unexpected errors are answered there."""

    async def broken(_admission: object, **_options: object) -> object:
        raise RuntimeError("a bug, not a client error")

    admissions = stack.ingress.service.admitter.committer
    with httpx.Client(headers=AUTH, timeout=30) as http:
        with monkeypatch.context() as patch:
            patch.setattr(admissions, "submit", broken)
            for path, body in (
                ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}),
                ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"}),
            ):
                failed = http.post(f"{stack.base_url}{path}", json=body)
                error = _assert_envelope(failed, 500)
                assert error["type"] == "server_error" and "a bug" not in error["message"]
        fine = http.post(
            f"{stack.base_url}/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt("after")}]},
            headers={"Prefer": "respond-async"},
        )
    assert fine.status_code == 202 and fine.headers["x-request-id"]
