"""The ``batch-gpt ingress`` process: flags, bad settings, SIGTERM draining, and the operational routes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletion

from batchgpt.simulator.answers import expected_chat_content
from tests.ingress.conftest import ALICE, BOB, Stack
from tests.ingress.servers import free_port, ingress_env, spawn_ingress, wait_ready
from tests.support.process_table import alive, answering_pid, child_pids, established_connections
from tests.support.prometheus_text import sample_totals
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}
UPSTREAM_KEY = "sk-upstream-never-shown-4242"
ACCEPTED = "batchgpt_ingress_requests_accepted_total"
HELD = "batchgpt_ingress_held_calls"
REATTACHED = "batchgpt_ingress_reattach_total"


def _env(stack: Stack) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka.kafka_bootstrap_servers,
        "BATCHGPT_TOPIC_PREFIX": stack.kafka.topic_prefix,
        "BATCHGPT_TOPIC_PARTITIONS": "2",
        "BATCHGPT_DATABASE_URL": stack.database_url,
        "BATCHGPT_API_KEYS": f"{ALICE},{BOB}",
        "BATCHGPT_MAX_WAIT_S": "60",
        "BATCHGPT_RESULT_RECHECK_S": "0.5",
        "BATCHGPT_LOG_FORMAT": "json",
        "BATCHGPT_LOG_LEVEL": "DEBUG",
        "OPENAI_API_KEY": UPSTREAM_KEY,
    }


def test_sigterm_answers_held_calls_with_a_retryable_pending_and_loses_nothing(
    stack: Stack, prompt, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "ingress.log"
    process = spawn_ingress({**_env(stack), "BATCHGPT_LOG_LEVEL": "DEBUG"}, port, log)  # per-request lines too
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        texts = [prompt(f"[hold] drain{i}") for i in range(3)]
        answers: dict[str, httpx.Response] = {}

        def call(text: str, stream: bool = False) -> None:
            body = {"model": "m", "messages": [{"role": "user", "content": text}], "stream": stream}
            answers[text] = httpx.post(f"{base}/v1/chat/completions", json=body, headers=AUTH, timeout=60)

        threads = [threading.Thread(target=call, args=(t,)) for t in texts]
        streamed = prompt("[hold] drain-stream")  # a stream's headers wait for its result: answered like the others
        threads.append(threading.Thread(target=call, args=(streamed, True)))
        for thread in threads:
            thread.start()
        wait_for(lambda: all(stack.stand_in.with_text(t) for t in [*texts, streamed]), timeout_s=20, what="accepted")

        def held() -> bool:
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
            return "batchgpt_ingress_held_calls 4.0" in metrics

        wait_for(held, timeout_s=10, what="4 held calls")
        process.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=20)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    for text in [*texts, streamed]:
        response = answers[text]  # no 202 for a caller that did not ask for one: a retry re-attaches elsewhere
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "result_pending"
        assert response.headers["x-should-retry"] == "true" and response.headers["retry-after"]
        request_id = response.headers["batchgpt-request-id"]
        assert response.headers["location"] == f"/v1/chat/completions/{request_id}"
        assert stack.stand_in.with_text(text)[0].request_id == request_id
    # nothing accepted is lost: the results arrive later and are served by another replica
    for text in [*texts, streamed]:
        message = stack.stand_in.with_text(text)[0]
        stack.stand_in.answer(message)
        done = httpx.get(f"{stack.base_url}/v1/chat/completions/{message.request_id}", headers=AUTH, timeout=30)
        assert done.status_code == 200
    logged = log.read_text()
    assert "undelivered" not in logged and '"request accepted"' in logged
    # neither the client keys nor the upstream key are ever logged
    assert ALICE not in logged and BOB not in logged and UPSTREAM_KEY not in logged


def test_bad_setting_exits_2_naming_the_variable(stack: Stack) -> None:
    env = ingress_env({**_env(stack), "BATCHGPT_MAX_WAIT_S": "soon"})
    result = subprocess.run([sys.executable, "-m", "batchgpt.cli", "ingress"], env=env, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"BATCHGPT_MAX_WAIT_S" in result.stderr


def test_port_flag_overrides_the_environment(stack: Stack, tmp_path: Path) -> None:
    port = free_port()
    process = spawn_ingress({**_env(stack), "BATCHGPT_PORT": "1"}, port, tmp_path / "log")
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_health_readiness_and_metrics(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"kafka": "ok", "database": "ok", "replies": "ok"}
        metrics = http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        for name in (
            "batchgpt_ingress_requests_accepted_total",
            "batchgpt_ingress_requests_rejected_total",
            "batchgpt_ingress_held_calls",
            "batchgpt_ingress_replies_received_total",
            "batchgpt_ingress_request_latency_seconds",
            "batchgpt_ingress_reattach_total",
            "batchgpt_ingress_cache_hits_total",
        ):
            assert name in metrics.text
        http.post("/v1/chat/completions", content=b"nope", headers=AUTH)
        rejected = stack.ingress.service.metrics.registry.get_sample_value(
            "batchgpt_ingress_requests_rejected_total", {"reason": "invalid_json"}
        )
        assert rejected and rejected >= 1


def test_readyz_is_503_when_the_database_is_gone(stack: Stack, start_ingress, tmp_path: Path) -> None:
    # a private SQLite database whose directory disappears (the stack's own database stays untouched)
    db_dir = tmp_path / "gone"
    db_dir.mkdir()
    server = start_ingress(database_url=f"sqlite:///{db_dir / 'x.sqlite3'}")
    server.service.engine.dispose()
    for item in db_dir.iterdir():
        item.unlink()
    db_dir.rmdir()
    response = httpx.get(f"{server.base_url}/readyz", timeout=30)
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_openapi_describes_the_real_endpoints(stack: Stack) -> None:
    document = httpx.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    paths = document["paths"]
    expected = {
        "/v1/chat/completions": {"post"},
        "/v1/chat/completions/{request_id}": {"get"},
        "/v1/embeddings": {"post"},
        "/v1/responses": {"post"},
        "/v1/responses/{request_id}": {"get"},
        "/v1/completions": {"post"},
        "/v1/completions/{request_id}": {"get"},
        "/v1/moderations": {"post"},
        "/v1/moderations/{request_id}": {"get"},
        "/v1/models": {"get"},
        "/v1/models/{model}": {"get"},
        "/v1/batches": {"get"},
        "/v1/batches/{batch_id}": {"get"},
        "/v1/batches/{batch_id}/cancel": {"post"},
        "/get-batch-status": {"get"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
        "/v1/dashboard/summary": {"get"},
        "/v1/dashboard/batches": {"get"},
        "/v1/dashboard/batches/{batch_id}": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    chat = paths["/v1/chat/completions"]["post"]
    schema = chat["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"model", "messages"}
    assert {"202", "400", "401", "413", "429"} <= set(chat["responses"])
    assert "HTTPBearer" in document["components"]["securitySchemes"]


def test_unexpected_failure_is_a_500_envelope_with_a_request_id(
    stack: Stack, start_ingress, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    server = start_ingress(database_url=f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    with server.service.engine.begin() as conn:
        conn.execute(text("DROP TABLE results"))  # a fault nobody handles: the table is gone
    with caplog.at_level(logging.ERROR):
        response = httpx.get(f"{server.base_url}/v1/chat/completions/req_x", headers=AUTH, timeout=30)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert response.headers["x-request-id"]
    assert "DROP" not in response.text and "sqlite" not in response.text.lower()
    tracebacks = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], OperationalError)]
    assert len(tracebacks) == 1, [r.getMessage() for r in tracebacks]  # logged once, with its traceback


def test_results_older_than_the_ttl_are_purged(stack: Stack, start_ingress, prompt) -> None:
    import json
    import time

    from sqlalchemy import select

    from batchgpt.store.tables import results

    server = start_ingress(result_ttl_seconds=60, purge_interval_seconds=0.2)
    old, fresh = f"req_old{prompt('p').split('-')[-1]}", f"req_new{prompt('p').split('-')[-1]}"
    with stack.engine.begin() as conn:
        for request_id, completed_at in ((old, time.time() - 3600), (fresh, time.time())):
            conn.execute(
                results.insert().values(
                    request_id=request_id, tenant="default", status="completed", status_code=200,
                    body=json.dumps({"ok": True}), completed_at=completed_at,
                )
            )  # fmt: skip

    def remaining() -> set[str]:
        with stack.engine.connect() as conn:
            rows = conn.execute(select(results.c.request_id).where(results.c.request_id.in_([old, fresh])))
            return {row.request_id for row in rows}

    wait_for(lambda: remaining() == {fresh}, timeout_s=10, what="the old result purged")
    assert server.service.started


def _spawn_two_workers(stack: Stack, log: Path) -> tuple[subprocess.Popen[bytes], int, set[int]]:
    """``batch-gpt ingress`` with 2 worker processes, ready; its port and its workers' pids."""
    port = free_port()
    process = spawn_ingress({**_env(stack), "BATCHGPT_INGRESS_WORKERS": "2"}, port, log)
    wait_ready(f"http://127.0.0.1:{port}")
    workers = wait_for(lambda: child_pids(process.pid) if len(child_pids(process.pid)) == 2 else None, what="2")
    return process, port, workers


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def _hold_sdk_calls(client: OpenAI, texts: list[str]) -> tuple[list[threading.Thread], dict[str, object]]:
    """A thread per text making an SDK call (held until the stand-in answers it); the threads, started, and
    where each answer (or exception) lands."""
    answers: dict[str, object] = {}

    def call(text: str) -> None:
        try:
            answers[text] = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion of _answer_all
            answers[text] = exc

    threads = [threading.Thread(target=call, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    return threads, answers


def _held_by_workers(stack: Stack, texts: list[str], workers: set[int], port: int) -> dict[int, int]:
    """Wait until every call of ``texts`` is accepted and held by one of ``workers``: how many each holds."""
    wait_for(lambda: all(stack.stand_in.with_text(t) for t in texts), timeout_s=20, what="all accepted")
    held: dict[int, int] = {}

    def all_held() -> bool:
        held.update({pid: established_connections(pid, port) for pid in workers})
        return sum(held.values()) >= len(texts)

    wait_for(all_held, timeout_s=20, what="every call held by a worker")
    return held


def _held_again(process: subprocess.Popen[bytes], port: int, calls: int) -> None:
    """Wait until ``calls`` calls are held by the workers alive now (a killed worker's callers retried)."""
    wait_for(
        lambda: sum(established_connections(pid, port) for pid in child_pids(process.pid)) >= calls,
        timeout_s=30,
        what="the killed worker's callers held again",
    )


def _answer_all(stack: Stack, texts: list[str], threads: list[threading.Thread], answers: dict[str, object]) -> None:
    """Answer each call once (it was produced once: re-attached by fingerprint) and check what each caller got."""
    for text in texts:
        [message] = stack.stand_in.with_text(text)  # re-attached by fingerprint, never produced twice
        stack.stand_in.answer(message)
    for thread in threads:
        thread.join(timeout=60)
    for text in texts:
        reply = answers[text]
        assert isinstance(reply, ChatCompletion), reply
        assert reply.choices[0].message.content == expected_chat_content(
            {"model": "m", "messages": [{"role": "user", "content": text}]}
        )


def test_a_killed_worker_is_replaced_and_its_held_callers_are_answered_through_the_sdk_retries(
    stack: Stack, prompt, tmp_path: Path
) -> None:
    log = tmp_path / "ingress.log"
    process, port, workers = _spawn_two_workers(stack, log)
    base = f"http://127.0.0.1:{port}"
    try:
        client = OpenAI(base_url=f"{base}/v1", api_key=ALICE)  # the SDK's default retries
        texts = [prompt(f"[hold] kill{i}") for i in range(12)]
        threads, answers = _hold_sdk_calls(client, texts)
        held = _held_by_workers(stack, texts, workers, port)
        victim = max(held, key=lambda pid: held[pid])
        assert held[victim] >= 1
        os.kill(victim, signal.SIGKILL)
        survivor = (workers - {victim}).pop()
        replacement = wait_for(lambda: (child_pids(process.pid) - {survivor}) - {victim}, what="a replacement")
        assert len(replacement) == 1 and alive(survivor)
        # the victim's callers retried and re-attached: every call is held again, on the workers alive now
        _held_again(process, port, len(texts))
        _answer_all(stack, texts, threads, answers)
        # the replacement serves: fresh connections reach it too
        [new_worker] = replacement
        wait_for(lambda: answering_pid(port, [new_worker]) == new_worker, timeout_s=60, what="the replacement")
        assert _stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
    logged = log.read_text()
    assert '"ingress worker died: respawning"' in logged and f'"pid": {victim}' in logged
    assert logged.count('"ingress worker started"') == 3


def _scrape(base: str) -> dict[str, float]:
    """One scrape of ``/metrics`` on a fresh connection (reaching whichever worker the kernel picks)."""
    return sample_totals(httpx.get(f"{base}/metrics", timeout=10).text)


def test_every_scrape_shows_the_sum_over_the_workers_and_a_killed_worker_takes_back_only_its_held_calls(
    stack: Stack, prompt, tmp_path: Path
) -> None:
    process, port, workers = _spawn_two_workers(stack, tmp_path / "ingress.log")
    base = f"http://127.0.0.1:{port}"
    try:
        [metrics_dir] = wait_for(
            lambda: list(Path(tempfile.gettempdir()).glob(f"batchgpt-ingress-{port}-{process.pid}-metrics-*")),
            what="the run's metrics directory",
        )
        texts = [prompt(f"[hold] sum{i}") for i in range(16)]
        threads, answers = _hold_sdk_calls(OpenAI(base_url=f"{base}/v1", api_key=ALICE), texts)
        held = _held_by_workers(stack, texts, workers, port)
        assert all(held[pid] >= 1 for pid in workers), held  # the calls are spread over both workers
        for _ in range(8):  # each on a fresh connection: whichever worker answers, it shows both
            totals = _scrape(base)
            assert totals[ACCEPTED] == len(texts) and totals[HELD] == len(texts), totals
        victim = max(held, key=lambda pid: held[pid])
        os.kill(victim, signal.SIGKILL)
        _held_again(process, port, len(texts))
        # the victim's callers are held again elsewhere: its own held calls went with it, its counts stayed
        wait_for(lambda: _scrape(base)[HELD] == len(texts), timeout_s=20, what="the held calls counted once")
        for _ in range(8):
            totals = _scrape(base)
            assert totals[HELD] == len(texts), totals
            assert totals[ACCEPTED] == len(texts), totals  # never down, and none accepted twice
            assert totals[REATTACHED] >= held[victim], totals  # its callers re-attached on the others
        _answer_all(stack, texts, threads, answers)
        wait_for(lambda: _scrape(base)[HELD] == 0, timeout_s=20, what="no call held")
        assert _stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert not metrics_dir.exists()  # removed by the parent at its exit


def test_sigterm_of_the_parent_stops_every_worker_with_exit_0_and_respawns_none(stack: Stack, tmp_path: Path) -> None:
    log = tmp_path / "ingress.log"
    process, _port, workers = _spawn_two_workers(stack, log)
    try:
        assert _stop(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert not any(alive(pid) for pid in workers)
    logged = log.read_text()
    assert logged.count('"ingress worker started"') == 2
    assert "respawning" not in logged and logged.count('"ingress worker exited"') == 2


def test_the_workers_of_a_killed_parent_exit(stack: Stack, tmp_path: Path) -> None:
    process, _port, workers = _spawn_two_workers(stack, tmp_path / "ingress.log")
    try:
        process.kill()
        process.wait(timeout=10)
        wait_for(lambda: not any(alive(pid) for pid in workers), timeout_s=40, what="the orphaned workers to exit")
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
