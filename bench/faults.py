"""Fault benchmark: the whole stack on PostgreSQL, official SDK callers at a constant rate, faults at seeded moments.

    python -m bench.faults [--mode kill|database|broker] [--calls 3000] [--rate 50] [--seed 16] [--settle 420]

Modes (each fault at a moment drawn from ``--seed``, between a fifth and seven tenths of the sending time):

* ``kill``: kill -9 of the collator, the resolver and the ingress, each at its own moment and restarted at once
  (an ingress of several worker processes, as ``BATCHGPT_INGRESS_WORKERS=auto`` starts on 2 or more cores: kill -9
  of one worker process, picked with the seed, which the ingress parent replaces; the run waits until the
  replacement answers; with ``--env BATCHGPT_INGRESS_WORKERS=1``: the one process, restarted), on the broker of
  ``KAFKA_BOOTSTRAP_SERVERS`` (else one of the run's own) and a fresh database on the PostgreSQL server of
  ``--postgres-admin-url`` (default ``BATCHGPT_TEST_POSTGRES_URL``);
* ``database``: a PostgreSQL cluster of the run's own (``scripts/local_postgres.py`` on a free port), stopped for
  ``--outage`` seconds (10) and started again;
* ``broker``: a Kafka broker of the run's own, stopped the controlled way and started again on its data;
* ``none``: the ``kill`` mode's stack without a fault, for a baseline.

Prints the lease settings the services ran with, then: answered, unanswered, errors after the SDK's retries,
duplicates upstream (the simulator's count), every HTTP status the callers saw on the way (their retries too),
p50/p99/max latency and each fault's recovery (from the fault until the last call it caught was answered).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from batchgpt.broker import linked_home, start_cluster
from batchgpt.devstack.stack import Stack, running_stack
from batchgpt.simulator.testing import free_port
from bench.callers import Callers
from bench.figures import Window
from bench.report import FaultWindow, conditions, lease_settings, print_figures, write_calls
from bench.schedule import Fault, schedule_faults
from tests.support.broker import session_broker
from tests.support.databases import temporary_postgres_database
from tests.support.private_postgres import PrivatePostgres
from tests.support.process_table import answering_pid, child_pids
from tests.support.waiting import wait_for

SERVICES = ("collator", "resolver", "ingress")


def run_parser(doc: str | None, *, calls: int, rate: float, settle_s: float) -> argparse.ArgumentParser:
    """The arguments every fault benchmark takes: the calls, their pace, the seed and the stack's settings."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--calls", type=int, default=calls)
    parser.add_argument("--rate", type=float, default=rate, help="calls per second")
    parser.add_argument("--seed", default=os.environ.get("BATCHGPT_FAULT_SEED", "16"))
    parser.add_argument(
        "--settle", type=float, default=settle_s, help="seconds to wait for answers after the last send"
    )
    parser.add_argument("--max-retries", type=int, default=None, help="the SDK's retries (default: the SDK's own)")
    parser.add_argument("--window-ms", type=int, default=1000, help="the collator's batch window")
    parser.add_argument("--in-progress-s", type=float, default=1.0, help="the simulator's time per batch")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("BATCHGPT_TEST_POSTGRES_URL"))
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra service setting")
    parser.add_argument("--calls-csv", type=Path, default=None, help="write one row per call to this file")
    return parser


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = run_parser(__doc__, calls=3000, rate=50.0, settle_s=420.0)
    parser.add_argument("--mode", choices=[*STAGES, "none"], default="kill", help="none: a baseline run, no fault")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds PostgreSQL stays down (database mode)")
    return parser.parse_args(argv)


async def drive(
    stack: Stack,
    faults: list[Fault],
    act: Callable[[str], None],
    *,
    calls: int,
    rate: float,
    settle_s: float,
    max_retries: int | None,
) -> tuple[Callers, list[FaultWindow]]:
    """Send the calls on their timetable, run each fault at its moment (``act`` in a thread), then let them settle."""
    callers = Callers(stack.base_url) if max_retries is None else Callers(stack.base_url, max_retries=max_retries)
    client = callers.client()
    sending = asyncio.ensure_future(callers.send(client, calls, rate))
    await asyncio.sleep(0)  # let the timetable start
    windows = []
    for fault in faults:
        await asyncio.sleep(max(0.0, callers.started_at + fault.at_s - time.monotonic()))  # the fault's moment
        start = time.monotonic()
        await asyncio.to_thread(act, fault.kind)
        windows.append(FaultWindow(fault.kind, Window(start, time.monotonic())))
        print(f"  {fault.kind} at {start - callers.started_at:.1f} s, back {time.monotonic() - start:.1f} s later")
    await sending
    await callers.settle(settle_s)
    await client.close()
    return callers, windows


@contextlib.contextmanager
def _kill_stage(args: argparse.Namespace, state: Path) -> Iterator[tuple[Stack, Callable[[str], None], list[str]]]:
    if not args.postgres_admin_url:
        sys.exit("kill mode needs a PostgreSQL server: --postgres-admin-url or BATCHGPT_TEST_POSTGRES_URL")
    with (
        session_broker(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")) as (bootstrap, _),
        temporary_postgres_database(args.postgres_admin_url, prefix="bench_faults") as database_url,
        bench_stack(args, state, bootstrap, database_url) as stack,
    ):
        victims = random.Random(f"{args.seed}:ingress workers")

        def _kill(kind: str) -> None:
            service = kind.removeprefix("kill -9 ")
            if service == "ingress" and child_pids(stack.procs["ingress"].popen.pid):  # a parent of workers
                kill_ingress_worker(stack, victims)
            else:
                stack.restart(service)  # SIGKILL, then a new process, up (ingress: ready)

        yield stack, _kill, [f"kill -9 {s}" for s in SERVICES]


def kill_ingress_worker(stack: Stack, victims: random.Random, timeout_s: float = 60.0) -> int:
    """SIGKILL one worker process of the stack's ingress (a child of its parent, the ``victims``' pick among
    them in pid order), wait until the parent's replacement answers ``/readyz`` on the port; return its pid."""
    parent = stack.procs["ingress"].popen.pid
    workers = sorted(child_pids(parent))
    victim = workers[victims.randrange(len(workers))]
    os.kill(victim, signal.SIGKILL)
    [replacement] = wait_for(
        lambda: child_pids(parent) - set(workers), timeout_s=timeout_s, what="a replacement worker"
    )
    wait_for(
        lambda: answering_pid(stack.ingress_port, [replacement]),
        timeout_s=timeout_s,
        interval_s=0.1,
        what=f"the replacement worker {replacement} answering",
    )
    return replacement


@contextlib.contextmanager
def _database_stage(args: argparse.Namespace, state: Path) -> Iterator[tuple[Stack, Callable[[str], None], list[str]]]:
    cluster = PrivatePostgres(free_port())
    cluster.start()

    def _outage(kind: str) -> None:
        cluster.stop()
        time.sleep(args.outage)  # the outage's length, not a wait for anything
        cluster.start()

    try:
        with (
            session_broker(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")) as (bootstrap, _),
            bench_stack(args, state, bootstrap, cluster.url) as stack,
        ):
            yield stack, _outage, [f"PostgreSQL down {args.outage:.0f} s"]
    finally:
        cluster.stop()


@contextlib.contextmanager
def _broker_stage(args: argparse.Namespace, state: Path) -> Iterator[tuple[Stack, Callable[[str], None], list[str]]]:
    if not args.postgres_admin_url:
        sys.exit("broker mode needs a PostgreSQL server: --postgres-admin-url or BATCHGPT_TEST_POSTGRES_URL")
    broker = start_cluster(linked_home(state / "kafka"), size=1)

    def _restart(kind: str) -> None:
        broker.stop_node(1)
        broker.start_node(1)

    try:
        with (
            temporary_postgres_database(args.postgres_admin_url, prefix="bench_faults") as database_url,
            bench_stack(args, state, broker.bootstrap_servers, database_url) as stack,
        ):
            yield stack, _restart, ["broker restart"]
    finally:
        broker.stop()


def bench_stack(
    args: argparse.Namespace,
    state: Path,
    bootstrap: str,
    database_url: str,
    *,
    prefix: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> contextlib.AbstractContextManager[Stack]:
    """The stack of a fault benchmark: its window and simulator pace from ``args``, its ``--env`` settings last."""
    return running_stack(
        bootstrap=bootstrap,
        topic_prefix=prefix or f"bf{uuid.uuid4().hex[:8]}.",
        database_url=database_url,
        state=state / "stack",
        window_ms=args.window_ms,
        simulator_flags={"in_progress_seconds": args.in_progress_s},
        extra_env={**(extra_env or {}), **dict(item.split("=", 1) for item in args.env)},
    )


STAGES = {"kill": _kill_stage, "database": _database_stage, "broker": _broker_stage}


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    state = Path(tempfile.mkdtemp(prefix=f"bench-faults-{args.mode}-"))
    print(f"fault benchmark, mode {args.mode}: {args.calls} calls at {args.rate:g}/s, seed {args.seed}")
    print(f"{conditions()}; logs in {state}")
    with STAGES.get(args.mode, _kill_stage)(args, state) as (stack, act, kinds):
        kinds = kinds if args.mode in STAGES else []
        for line in lease_settings(stack.env):
            print(f"  {line}")
        faults = schedule_faults(args.seed, kinds, args.calls / args.rate)
        callers, windows = asyncio.run(
            drive(
                stack, faults, act, calls=args.calls, rate=args.rate, settle_s=args.settle, max_retries=args.max_retries
            )
        )
        print_figures(callers, stack.simulator.stats(include_custom_ids=True), windows)
        if args.calls_csv is not None:
            write_calls(callers, args.calls_csv)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
