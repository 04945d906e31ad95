"""Cluster benchmark: the whole stack on a three-broker KRaft cluster, one broker killed (kill -9) mid-run.

    python -m bench.cluster [--calls 600] [--rate 20] [--seed 16] [--node N] [--restart-after S] [--settle 300]

Three broker+controller nodes from the same jars as ``batch-gpt broker`` (a shared controller quorum, each on
127.0.0.1 ports, in a temporary directory); the stack's topics created with replication factor 3 and
``min.insync.replicas`` 2 (``BATCHGPT_TOPIC_REPLICATION_FACTOR`` / ``BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS``) and every
service given all three bootstrap servers; its producers use acks=all. At a seeded moment one node (seeded, or
``--node``) is killed with SIGKILL, and started again ``--restart-after`` seconds later when given. The database is
a fresh one on the PostgreSQL server of ``--postgres-admin-url`` (default ``BATCHGPT_TEST_POSTGRES_URL``), else
SQLite.

Prints the topics' replication as the cluster reports it, then answered, errors, duplicates upstream, the HTTP
statuses the callers saw, p50/p99, the recovery of the calls in flight at the kill, and, from a probe writing
(acks=all) and reading a replicated topic beside the stack, how long writes and reads stalled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from batchgpt.broker import BrokerCluster, linked_home, start_cluster
from batchgpt.devstack.stack import Stack
from bench.faults import bench_stack, drive, run_parser
from bench.probe import Probe
from bench.report import conditions, lease_settings, print_figures, write_calls
from bench.schedule import Fault, schedule_faults
from tests.support.databases import temporary_postgres_database

REPLICATION = {"BATCHGPT_TOPIC_REPLICATION_FACTOR": "3", "BATCHGPT_TOPIC_MIN_INSYNC_REPLICAS": "2"}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = run_parser(__doc__, calls=600, rate=20.0, settle_s=300.0)
    parser.add_argument("--node", type=int, default=None, help="the node to kill (1-3; default: seeded; 0: none)")
    parser.add_argument("--restart-after", type=float, default=None, help="start the killed node again after S s")
    return parser.parse_args(argv)


def topic_replication(bootstrap: str, prefix: str) -> list[str]:
    """Per topic of the stack: partitions, replicas and in-sync replicas of each, and ``min.insync.replicas``."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    topics = {name: t for name, t in admin.list_topics(timeout=10).topics.items() if name.startswith(prefix)}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in sorted(topics)]
    configs = {r.name: f.result(timeout=10) for r, f in admin.describe_configs(resources).items()}
    lines = []
    for name, topic in sorted(topics.items()):
        parts = topic.partitions.values()
        min_isr = configs[name]["min.insync.replicas"].value
        replicas = sorted({len(p.replicas) for p in parts})
        lines.append(f"{name}: {len(parts)} partitions, replicas {replicas}, min.insync.replicas {min_isr}")
    return lines


def _plan(args: argparse.Namespace, cluster: BrokerCluster) -> list[Fault]:
    if args.node == 0:
        return []  # a baseline run
    node = args.node or random.Random(f"{args.seed}:node").choice([n.node_id for n in cluster.nodes])
    faults = schedule_faults(args.seed, [f"kill -9 broker {node}"], args.calls / args.rate)
    if args.restart_after is not None:
        faults.append(Fault(f"start broker {node}", faults[0].at_s + args.restart_after))
    return faults


def _act(cluster: BrokerCluster, kind: str) -> None:
    node = int(kind.rsplit(" ", 1)[1])
    if kind.startswith("kill"):
        cluster.kill(node)
    else:
        cluster.start_node(node)


@contextlib.contextmanager
def _database(args: argparse.Namespace, state: Path) -> Iterator[str]:
    if args.postgres_admin_url:
        with temporary_postgres_database(args.postgres_admin_url, prefix="bench_cluster") as url:
            yield url
    else:
        yield f"sqlite:///{state / 'cluster.sqlite3'}"


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    state = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    print(f"cluster benchmark: 3 brokers, {args.calls} calls at {args.rate:g}/s, seed {args.seed}")
    print(f"{conditions()}; logs in {state}")
    cluster = start_cluster(linked_home(state / "kafka"), size=3)
    prefix = f"bc{uuid.uuid4().hex[:8]}."
    probe = Probe(cluster.bootstrap_servers, f"{prefix}probe")
    try:
        with (
            _database(args, state) as database_url,
            bench_stack(
                args,
                state,
                cluster.bootstrap_servers,
                database_url,
                prefix=prefix,
                extra_env={**REPLICATION, "BATCHGPT_TOPIC_PARTITIONS": "3"},
            ) as stack,
        ):
            _report_setup(stack, cluster, prefix, database_url)
            probe.start()
            faults = _plan(args, cluster)
            callers, windows = asyncio.run(
                drive(
                    stack,
                    faults,
                    lambda kind: _act(cluster, kind),
                    calls=args.calls,
                    rate=args.rate,
                    settle_s=args.settle,
                    max_retries=args.max_retries,
                )
            )
            probe.stop()
            print_figures(callers, stack.simulator.stats(include_custom_ids=True), windows[:1])
            if args.calls_csv is not None:
                write_calls(callers, args.calls_csv)
            for line in probe.figures():
                print(line)
    finally:
        probe.stop()
        cluster.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def _report_setup(stack: Stack, cluster: BrokerCluster, prefix: str, database_url: str) -> None:
    print(f"brokers {cluster.bootstrap_servers}; database {database_url.split('@')[-1]}")
    for line in lease_settings(stack.env):
        print(f"  {line}")
    for line in topic_replication(cluster.bootstrap_servers, prefix):
        print(f"  {line}")


if __name__ == "__main__":
    raise SystemExit(main())
