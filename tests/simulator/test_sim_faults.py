"""Fault injection: 500/429 with Retry-After (SDK retries in the stats), batch outcomes, slow downloads."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from openai import OpenAI

from batchgpt.simulator.faults import HttpFault
from batchgpt.simulator.testing import RunningSimulator, run_simulator

from .batch_inputs import chat_line, jsonl, read_lines, submit, upload, wait_status


def test_upload_500s_are_retried_by_the_sdk_and_counted(sim: RunningSimulator) -> None:
    sim.inject(kind="http_error", route="files.create", status=500, count=2, retry_after_seconds=0.01)
    with OpenAI(base_url=sim.base_url, api_key="k", max_retries=2) as client:
        uploaded = client.files.create(
            file=("in.jsonl", jsonl([chat_line("a", "x")]), "application/jsonl"), purpose="batch"
        )
    stats = sim.stats()
    assert stats["files"] == 1 and uploaded.id
    assert stats["api_calls"]["files.create"] == 3
    assert stats["retried_calls"] == 2 and stats["retried_calls_by_route"] == {"files.create": 2}
    assert stats["faults_fired"] == 2 and stats["faults_pending"] == []


def test_create_429_carries_retry_after(sim: RunningSimulator, client: OpenAI) -> None:
    file_id = upload(client, [chat_line("a", "x")])
    sim.inject(kind="http_error", route="batches.create", status=429, count=1, retry_after_seconds=0.05)
    raw = httpx.post(
        f"{sim.base_url}/batches",
        headers={"Authorization": "Bearer k"},
        json={"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    )
    assert raw.status_code == 429
    assert (raw.headers["retry-after"], raw.headers["retry-after-ms"]) == ("1", "50")
    assert raw.json()["error"]["code"] == "rate_limit_exceeded" and raw.json()["error"]["type"] == "requests"
    sim.inject(kind="http_error", route="batches.create", status=429, count=1, retry_after_seconds=0.05)
    with pytest.raises(openai.RateLimitError):
        client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    sim.inject(kind="http_error", route="batches.create", status=429, count=2, retry_after_seconds=0.05)
    started = time.monotonic()
    with OpenAI(base_url=sim.base_url, api_key="k", max_retries=2) as retrying:
        batch = retrying.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    assert time.monotonic() - started >= 0.1  # two honoured 50 ms waits
    stats = sim.stats()
    assert stats["batches"] == 1 and stats["batch_details"][0]["id"] == batch.id
    assert stats["api_calls"]["batches.create"] == 5 and stats["retried_calls_by_route"]["batches.create"] == 2


def test_wildcard_503(sim: RunningSimulator, client: OpenAI) -> None:
    sim.inject({"kind": "http_error", "status": 503})
    with pytest.raises(openai.InternalServerError) as caught:
        client.files.list()
    assert caught.value.status_code == 503 and caught.value.code == "server_is_overloaded"
    assert client.files.list().data == []


def test_token_limit_exceeded_fault(sim: RunningSimulator, client: OpenAI) -> None:
    sim.inject(kind="batch", outcome="token_limit_exceeded")
    batch = submit(client, [chat_line("a", "x")])
    assert batch.status == "validating"
    failed = wait_status(client, batch.id)
    assert failed.status == "failed" and failed.errors is not None
    [error] = failed.errors.data
    assert (error.code, error.line, error.param) == ("token_limit_exceeded", None, None)
    assert "Enqueued token limit reached for gpt-4o-mini" in (error.message or "")


def test_enqueued_token_limit_setting(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(enqueued_token_limit=100, in_progress_seconds=60)
    first = submit(client, [chat_line(f"a{i}", "word " * 20) for i in range(3)])
    assert wait_status(client, first.id, {"in_progress"}).status == "in_progress"
    second = wait_status(client, submit(client, [chat_line("b", "word " * 20)]).id)
    assert second.status == "failed" and second.errors is not None
    assert second.errors.data[0].code == "token_limit_exceeded"
    other_model = wait_status(client, submit(client, [chat_line("c", "x", model="gpt-4o")]).id, {"in_progress"})
    assert other_model.status == "in_progress"


def test_fail_validation_fault(sim: RunningSimulator, client: OpenAI) -> None:
    sim.inject(kind="batch", outcome="fail_validation", code="invalid_request", message="nope")
    failed = wait_status(client, submit(client, [chat_line("a", "x")]).id)
    assert failed.status == "failed" and failed.errors is not None
    assert (failed.errors.data[0].code, failed.errors.data[0].message) == ("invalid_request", "nope")


def test_cancel_fault_cancels_midway_with_partial_results(sim: RunningSimulator, client: OpenAI) -> None:
    sim.inject(kind="batch", outcome="cancel", fraction=0.5)
    cancelled = wait_status(client, submit(client, [chat_line(f"r{i}", f"q{i}") for i in range(4)]).id)
    assert cancelled.status == "cancelled" and cancelled.cancelling_at is not None
    assert {line["custom_id"] for line in read_lines(client, cancelled.output_file_id)} == {"r0", "r1"}
    assert (cancelled.request_counts.total, cancelled.request_counts.completed) == (4, 2)


def test_slow_download(sim: RunningSimulator, client: OpenAI) -> None:
    file_id = upload(client, [chat_line("a", "x")])
    sim.inject(kind="slow_download", delay_seconds=1.0)
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).files.content(file_id)
    sim.configure(download_delay_seconds=0.2)
    started = time.monotonic()
    assert client.files.content(file_id).content == jsonl([chat_line("a", "x")])
    assert time.monotonic() - started >= 0.2


def test_slow_call_delays_only_its_route(sim: RunningSimulator, client: OpenAI) -> None:
    sim.inject(kind="slow_call", route="files.create", delay_seconds=1.0)
    started = time.monotonic()
    assert client.files.list().data == []  # another route: not delayed, and the fault stays armed
    assert time.monotonic() - started < 1.0
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3, max_retries=0).files.create(file=("x.jsonl", b"{}\n"), purpose="batch")
    started = time.monotonic()
    upload(client, [chat_line("a", "x")])  # spent: the next upload is not delayed
    assert time.monotonic() - started < 1.0


def test_faults_armed_at_start() -> None:
    with run_simulator(faults=(HttpFault(route="files.list", status=500),)) as sim:
        with OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client:
            with pytest.raises(openai.InternalServerError):
                client.files.list()
            assert client.files.list().data == []


def test_fault_admin_endpoints(sim: RunningSimulator) -> None:
    armed = sim.inject(
        {"faults": [{"kind": "http_error", "route": "files.list", "count": 3}, {"kind": "slow_download"}]}
    )
    assert [f["remaining"] for f in armed["faults"]] == [3, 1]
    assert httpx.get(sim.root_url + "/_sim/faults").json()["faults"] == armed["faults"]
    bad = httpx.post(sim.root_url + "/_sim/faults", json={"kind": "http_error", "route": "no.such.route"})
    assert bad.status_code == 400 and "route" in bad.json()["error"]["message"]
    assert httpx.post(sim.root_url + "/_sim/faults", json={"kind": "nope"}).status_code == 400
    sim.clear_faults()
    assert sim.stats()["faults_pending"] == []
