"""The ingress's metrics shared by its worker processes (no broker, no app): each forked worker joins the run's
metrics directory, one scrape sums every worker, a reaped worker's live gauges go and its counters stay; with
one process, each app keeps its own registry."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from prometheus_client import values

from ingress.metrics import IngressMetrics
from ingress.process.shared_metrics import MetricsDir, SharedMetrics
from schemas.status import Endpoint
from tests.support.prometheus_text import sample_totals

ACCEPTED = "batchgpt_ingress_requests_accepted_total"
HELD = "batchgpt_ingress_held_calls"
ANSWERED = "batchgpt_ingress_request_latency_seconds_count"


@pytest.fixture
def metrics_dir() -> Iterator[MetricsDir]:
    with MetricsDir.fresh(port=0) as directory:
        yield directory


def _run_worker(directory: MetricsDir, accepted: int, held: int) -> int:
    """Fork a worker that joins ``directory``, accepts ``accepted`` requests, answers one, holds ``held`` calls
    and exits (its files stay, as a killed worker's do); its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            metrics = IngressMetrics(directory.join())
            for _ in range(accepted):
                metrics.accepted.labels(endpoint=Endpoint.CHAT_COMPLETIONS.value).inc()
            metrics.held.inc(held)
            metrics.observe_answer(Endpoint.CHAT_COMPLETIONS, "completed", time.monotonic())
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return pid


def _scrape(directory: MetricsDir) -> dict[str, float]:
    return sample_totals(SharedMetrics(directory.path).exposition().decode())


def test_one_scrape_sums_the_counters_gauges_and_histograms_of_every_worker(metrics_dir: MetricsDir) -> None:
    _run_worker(metrics_dir, accepted=3, held=2)
    _run_worker(metrics_dir, accepted=4, held=5)
    totals = _scrape(metrics_dir)
    assert totals[ACCEPTED] == 7
    assert totals[HELD] == 7
    assert totals[ANSWERED] == 2


def test_a_reaped_worker_s_held_calls_go_and_its_counts_stay(metrics_dir: MetricsDir) -> None:
    dead = _run_worker(metrics_dir, accepted=3, held=2)
    _run_worker(metrics_dir, accepted=4, held=5)
    metrics_dir.forget(dead)
    totals = _scrape(metrics_dir)
    assert totals[HELD] == 5  # only the live worker's
    assert totals[ACCEPTED] == 7  # a counter never goes backwards because a worker died
    assert totals[ANSWERED] == 2


def test_joining_happens_in_the_worker_only_the_parent_keeps_in_process_values(metrics_dir: MetricsDir) -> None:
    _run_worker(metrics_dir, accepted=1, held=1)
    assert values.ValueClass is values.MutexValue
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_with_one_process_each_app_serves_its_own_registry() -> None:
    first, second = IngressMetrics(), IngressMetrics()
    first.accepted.labels(endpoint=Endpoint.CHAT_COMPLETIONS.value).inc(2)
    first.held.inc()
    assert sample_totals(first.exposition().decode())[ACCEPTED] == 2
    assert sample_totals(first.exposition().decode())[HELD] == 1
    assert sample_totals(second.exposition().decode()).get(ACCEPTED, 0.0) == 0
