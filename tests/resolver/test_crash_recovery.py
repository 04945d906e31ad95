"""A resolver killed with SIGKILL mid fan-out and restarted still answers every request (the interrupted
chunk is published again; results are stored once each), within its lease time of the kill with the default
lease; and the command refuses bad settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from batchgpt.simulator.testing import free_port
from batchgpt.store.tables import batch_members, results
from resolver.settings import ResolverSettings
from tests.resolver.collator_role import announce, make_request
from tests.resolver.rig import ResolverRig
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _env(rig: ResolverRig, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATCHGPT_", "OPENAI_", "KAFKA_"))}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": rig.kafka.kafka_bootstrap_servers,
            "BATCHGPT_TOPIC_PREFIX": rig.kafka.topic_prefix,
            "BATCHGPT_TOPIC_PARTITIONS": "2",
            "BATCHGPT_DATABASE_URL": rig.settings.database_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": rig.sim.base_url,
            "BATCHGPT_POLL_INTERVAL_S": "0.05",
            "BATCHGPT_RESOLVER_SCAN_S": "0.1",
            "BATCHGPT_FANOUT_CHUNK": "10",
            "BATCHGPT_FANOUT_CHUNKS_IN_FLIGHT": "3",
            "BATCHGPT_LOG_FORMAT": "text",
            **extra,
        }
    )
    return env


Spawn = Callable[[dict[str, str], str], "subprocess.Popen[bytes]"]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start ``batch-gpt resolver`` subprocesses; kill any still running at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def _spawn(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "batchgpt.cli", "resolver"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        started.append(process)
        return process

    yield _spawn
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


DEFAULT_LEASE_S = ResolverSettings.model_fields["lease_seconds"].default
TAKEOVER_MARGIN_S = 8.0
"""The survivor's scan and the fan-out's remaining chunks, once the lease lapsed and the survivor is up."""


def _serving(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("lease", ["1", "default"])
def test_resolver_killed_mid_fanout_answers_everyone_after_restart(
    rig: ResolverRig, spawn: Spawn, tmp_path: Path, unique_id: str, lease: str
) -> None:
    members = [make_request(f"kx-{unique_id}-{i:03d}", f"question {i}") for i in range(60)]
    batch_id = rig.submit(members)
    announce(rig.kafka, batch_id)
    lease_env = {"BATCHGPT_RESOLVER_LEASE_S": lease} if lease != "default" else {}
    lease_s = float(lease) if lease != "default" else DEFAULT_LEASE_S

    doomed = spawn(_env(rig, BATCHGPT_TEST_CRASH_AT="mid_fanout:45", **lease_env), "first")
    assert doomed.wait(timeout=60) == -signal.SIGKILL, (tmp_path / "first.log").read_text()
    killed_at = time.monotonic()
    with rig.engine.connect() as conn:
        stored_before = conn.execute(select(func.count()).select_from(results)).scalar()
    # chunks of 10, at most 3 in flight: chunks 1-2 were stored before chunk 5 was even produced
    assert 20 <= stored_before < len(members)  # it really died in the middle of the fan-out
    assert rig.row(batch_id).resolved_at is None

    metrics_port = free_port()
    survivor = spawn(_env(rig, BATCHGPT_METRICS_PORT=str(metrics_port), **lease_env), "second")
    wait_for(lambda: _serving(metrics_port), timeout_s=60, what="the survivor started")
    up_at = time.monotonic()
    wait_for(
        lambda: rig.row(batch_id).resolved_at is not None,
        timeout_s=60,
        what="resolved after restart",
    )
    # the dead worker's lease lapses within one lease time of the kill (its heartbeat renewed it at most a third of
    # a lease before), and the survivor claims it as soon as it does (or as soon as it is up, on a slow machine)
    took = time.monotonic() - max(killed_at + lease_s, up_at)
    assert took < TAKEOVER_MARGIN_S, f"resolved {took:.1f}s after the lease lapsed (lease {lease_s}s)"
    exposition = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert 'batchgpt_resolver_batches_resolved_total{status="completed"} 1.0' in exposition
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(timeout=30) == 0, (tmp_path / "second.log").read_text()

    replies = wait_for(lambda: (r := rig.default_replies.replies()) and len(r) >= len(members) and r, what="replies")
    counts = Counter(r.request_id for r in replies)
    assert set(counts) == {m.request_id for m in members}  # everyone answered
    assert any(n > 1 for n in counts.values())  # the interrupted chunk was published again
    with rig.engine.connect() as conn:
        rows = conn.execute(select(results.c.request_id, results.c.status)).all()
        outcomes = set(conn.execute(select(batch_members.c.outcome)).scalars())
    assert sorted(r.request_id for r in rows) == sorted(m.request_id for m in members)
    assert {r.status for r in rows} == {"completed"} and outcomes == {"completed"}


def test_bad_setting_exits_2_naming_the_variable() -> None:
    env = {**os.environ, "BATCHGPT_POLL_INTERVAL_S": "-3"}
    done = subprocess.run(
        [sys.executable, "-m", "batchgpt.cli", "resolver"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"BATCHGPT_POLL_INTERVAL_S" in done.stderr


def test_missing_openai_key_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "batchgpt.cli", "resolver"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"OPENAI_API_KEY" in done.stderr
