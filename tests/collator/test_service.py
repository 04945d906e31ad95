"""``batch-gpt collator`` as a process: settings validated once, metrics served, SIGTERM exits cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from batchgpt.simulator.testing import free_port
from tests.collator.harness import batch_rows, chat_request, produce
from tests.collator.worker_process import CollatorProcess
from tests.support.waiting import wait_for


def test_a_bad_setting_exits_2_naming_the_variable():
    env = {**os.environ, "COLLATE_BATCHES_FOR_DURATION_IN_MS": "soon"}
    done = subprocess.run([sys.executable, "-m", "batchgpt.cli", "collator"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "COLLATE_BATCHES_FOR_DURATION_IN_MS" in done.stderr


def test_the_service_serves_metrics_and_stops_cleanly_on_sigterm(collator_settings, kafka_settings, db_engine,
                                                                   simulator, tmp_path):
    port = free_port()
    worker = CollatorProcess(collator_settings(window_ms=200), tmp_path / "collator.log",
                             {"BATCHGPT_METRICS_PORT": str(port)})
    try:
        message = chat_request("gpt-4o-mini")
        produce(kafka_settings, [message])

        def submitted_metric() -> str | None:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return None
            return text if 'batchgpt_collator_batches_total{outcome="submitted"} 1.0' in text else None

        try:
            text = wait_for(submitted_metric, timeout_s=40, what="the submitted batch in /metrics")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- collator output ---\n{worker.output()[-4000:]}") from None
        assert "batchgpt_collator_lines_total 1.0" in text
        assert "batchgpt_collator_windows_total" in text
        assert worker.terminate() == 0, worker.output()[-3000:]
    finally:
        worker.kill()
    assert "sk-test" not in worker.output()
    assert simulator.stats()["custom_id_submissions"] == {message.request_id: 1}


def test_sigterm_during_a_submission_finishes_it_before_exiting(collator_settings, kafka_settings, db_engine,
                                                                 simulator, tmp_path):
    simulator.inject(kind="http_error", route="batches.create", status=503, count=1, retry_after_seconds=2.0)
    worker = CollatorProcess(collator_settings(window_ms=200, submit_backoff_max_seconds=5),
                             tmp_path / "collator.log")
    try:
        message = chat_request("gpt-4o-mini")
        produce(kafka_settings, [message])
        wait_for(lambda: simulator.stats()["api_calls"].get("batches.create", 0) >= 1, timeout_s=40,
                 what="the first (failing) create")
        assert worker.terminate() == 0, worker.output()[-3000:]  # while it waits 2 s to retry the create
    finally:
        worker.kill()
    [batch] = batch_rows(db_engine)
    assert batch["upstream_batch_id"] is not None and batch["status"] != "pending"
    stats = simulator.stats()
    assert stats["custom_id_submissions"] == {message.request_id: 1}
    assert stats["api_calls"]["batches.create"] == 2
