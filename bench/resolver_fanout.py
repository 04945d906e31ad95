"""Benchmark: resolver fan-out lines per second for one large batch (default 10,000 lines).

Run with ``python -m bench.resolver_fanout [--lines N] [--chunk N] [--database-url URL]``. It uses
``KAFKA_BOOTSTRAP_SERVERS`` or starts the local broker, serves the simulator in-process with fast
phases, submits the batch the way the collator does (``tests/resolver/collator_role.py``), runs
``batch-gpt resolver`` as a subprocess and measures, from the database, the time from the poll that saw
the batch terminal (``terminal_at``) to ``resolved_at`` (every reply delivered to Kafka and every result
written). Peak RSS is the resolver process's ``VmHWM`` (peak since its exec; ``ru_maxrss`` would also
count the benchmark's own memory, copied at fork) read just before it is stopped, plus ``VmRSS`` samples.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from openai import OpenAI

from batchgpt.kafka import ensure_topics
from batchgpt.settings import KafkaSettings
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import run_simulator
from batchgpt.store.engine import make_engine, migrate
from tests.resolver.collator_role import make_request, submit_as_collator
from tests.resolver.conftest import batch_row
from tests.resolver.topic_reader import TopicReader
from tests.support.broker import session_broker
from tests.support.databases import temporary_postgres_database
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500, help="BATCHGPT_FANOUT_CHUNK for the resolver")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--postgres-admin-url", default=None, help="run on a fresh PostgreSQL database created through this URL"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    with _database(args, workdir) as database_url:
        return _run(args, workdir, database_url)


@contextlib.contextmanager
def _database(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """The database URL to use: given, a fresh PostgreSQL database (dropped afterwards), or a SQLite file."""
    if args.database_url:
        yield args.database_url
        return
    if not args.postgres_admin_url:
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    with temporary_postgres_database(args.postgres_admin_url, prefix="bench") as url:
        yield url


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident set size (``VmRSS``) or its peak since exec (``VmHWM``), in MB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _run(args: argparse.Namespace, workdir: Path, database_url: str) -> int:
    engine = make_engine(database_url)
    migrate(engine)
    phases = SimulatorSettings(
        log_level="warning", validating_seconds=0.05, in_progress_seconds=1.0, finalizing_seconds=0.05
    )
    with session_broker(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")) as (bootstrap, how), run_simulator(phases) as sim:
        kafka = KafkaSettings(
            kafka_bootstrap_servers=bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:8]}.", topic_partitions=4
        )
        ensure_topics(kafka)
        client = OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
        members = [make_request(f"bench-{i:06d}", f"benchmark question number {i}") for i in range(args.lines)]
        started = time.perf_counter()
        batch_id = submit_as_collator(client=client, engine=engine, members=members)
        print(f"submitted {args.lines} lines in {time.perf_counter() - started:.2f}s (broker: {how})")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BATCHGPT_", "OPENAI_", "KAFKA_"))}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "BATCHGPT_TOPIC_PREFIX": kafka.topic_prefix,
                "BATCHGPT_DATABASE_URL": database_url,
                "OPENAI_API_KEY": "sk-bench",
                "OPENAI_BASE_URL": sim.base_url,
                "BATCHGPT_POLL_INTERVAL_S": "0.05",
                "BATCHGPT_RESOLVER_SCAN_S": "0.1",
                "BATCHGPT_FANOUT_CHUNK": str(args.chunk),
                "BATCHGPT_LOG_LEVEL": "WARNING",
            }
        )
        log = (workdir / "resolver.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "batchgpt.cli", "resolver"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            samples: list[tuple[float, str, float]] = []

            def resolved() -> object:
                r = batch_row(engine, batch_id)
                samples.append((time.time(), r.status, _rss_mb(process.pid)))
                return r.resolved_at is not None and r

            row = wait_for(
                resolved,
                timeout_s=600,
                interval_s=0.2,
                what="batch resolved",
            )
        finally:
            peak_rss_mb = _rss_mb(process.pid, "VmHWM")
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        if code != 0:
            print(f"resolver exited with {code}; log: {workdir / 'resolver.log'}")
        reader = TopicReader(bootstrap, kafka.topics.replies)
        replies = wait_for(
            lambda: len(reader.drain(1.0)) >= args.lines and reader.seen, timeout_s=120, what="all replies on the topic"
        )
        distinct = len({s.key for s in replies})
        reader.close()
        client.close()
    engine.dispose()
    seconds = row.resolved_at - row.terminal_at
    print(
        f"database: {engine.url.get_backend_name()}, fan-out chunk: {args.chunk}, replies on topic: "
        f"{len(replies)} ({distinct} distinct)"
    )
    print(
        f"fan-out: {args.lines} lines in {seconds:.2f}s = {args.lines / seconds:,.0f} lines/s "
        f"(terminal seen -> every reply delivered and stored)"
    )
    before = max((mb for t, status, mb in samples if t < row.terminal_at), default=0.0)
    during = max((mb for t, _, mb in samples if t >= row.terminal_at), default=0.0)
    print(
        f"resolver peak RSS: {peak_rss_mb:.0f} MB (sampled every 0.2 s: {before:.0f} MB before the fan-out, "
        f"{during:.0f} MB during it)"
    )
    return 0 if distinct == args.lines else 1


if __name__ == "__main__":
    raise SystemExit(main())
