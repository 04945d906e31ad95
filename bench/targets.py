"""What the load benchmarks put under load, and how they read its processes.

Each target is a context manager that starts one thing on the machine (batch-gpt's stack, ``autobatcher
serve``, or the simulator's synchronous endpoint as a ceiling), yields a :class:`Target` with its URL and
the pids of its processes, and stops it all at the end. The same simulator settings go to each, so the
window and the simulated Batch API time are the same for every target.

Process figures come from ``/proc``: peak resident memory (``VmHWM``) and CPU time (``utime + stime``, and
``cutime + cstime`` for reaped children), each summed over a process and all its descendants (the ingress's
worker processes; a faust worker's threads are in its own figure).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from batchgpt.broker import start_broker, stop_broker  # noqa: E402
from batchgpt.devstack.stack import running_stack  # noqa: E402
from batchgpt.simulator.testing import free_port, start_simulator_process  # noqa: E402

__all__ = [
    "AUTOBATCHER_VERSION",
    "STATE",
    "Target",
    "autobatcher_target",
    "batch_gpt_name",
    "batch_gpt_target",
    "compared_targets",
    "cpu_seconds",
    "listening_pid",
    "peak_rss_mb",
    "process_label",
    "process_tree",
    "simulator_ceiling",
]

STATE = ROOT / ".run" / "bench"
AUTOBATCHER_VERSION = "0.12.0"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    """One thing under load: its URL and the processes whose memory and CPU are reported."""

    name: str
    url: str
    pids: dict[str, int]
    note: Callable[[], str] | None = None
    extra_pids: dict[str, int] = field(default_factory=dict)
    """Processes measured for CPU but not part of the target itself (the broker, the simulator)."""


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant of it (the children of each of a process's threads: a child is listed
    under the thread that forked it)."""
    found = [pid]
    queue = [pid]
    while queue:
        parent = queue.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                pids = [int(child) for child in children.read_text().split()]
            except OSError:
                continue
            found.extend(pids)
            queue.extend(pids)
    return found


def peak_rss_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a process and its descendants, in MB."""
    total = 0.0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            total += int(match.group(1)) / 1024
    return round(total, 1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants, in seconds: the live ones' own, and
    the reaped ones' as their parents count it (a multi-worker ingress's worker that died and was replaced)."""
    ticks = 0
    for p in process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        # after "pid (comm) ": utime, stime, cutime and cstime are fields 14 to 17 of stat(5)
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on 127.0.0.1:``port`` (for a broker this script did not start)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"pid=(\d+)", out)
    return int(match.group(1)) if match else None


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


@contextlib.contextmanager
def simulator_ceiling(sim_flags: dict[str, object]) -> Iterator[Target]:
    """The simulator's synchronous endpoint: what the machine serves with no batching at all."""
    sim = start_simulator_process(log_path=STATE / "simulator-sync.log", **sim_flags)
    try:
        yield Target("simulator sync endpoint (ceiling)", f"{sim.root_url}/v1/chat/completions", {"simulator": sim.pid})
    finally:
        sim.stop()


@contextlib.contextmanager
def batch_gpt_target(
    *,
    sim_flags: dict[str, object],
    window_ms: int,
    ingress_workers: int | None = None,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    collators: int = 1,
    resolvers: int = 1,
) -> Iterator[Target]:
    """batch-gpt's whole stack on the simulator; a broker of its own unless ``KAFKA_BOOTSTRAP_SERVERS`` is set.

    ``ingress_workers=None`` leaves ``BATCHGPT_INGRESS_WORKERS`` at its default, as a user would run it.
    ``collators`` / ``resolvers``: how many replicas of each (each measured apart: ``collator``, ``collator-2``...).
    """
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker_port = None
    if bootstrap:
        broker_pid = listening_pid(int(bootstrap.split(",")[0].rsplit(":", 1)[1]))
    else:
        broker_port = free_port()
        handle = start_broker(ROOT / ".kafka", port=broker_port)
        bootstrap, broker_pid = handle.bootstrap_servers, handle.pid
    stamp = f"{int(time.time())}{os.getpid()}"
    env = {"BATCHGPT_MAX_PENDING_PER_KEY": "1000000"}  # logs at the default level: what a user runs
    if ingress_workers is not None:
        env["BATCHGPT_INGRESS_WORKERS"] = str(ingress_workers)
    env.update(extra_env or {})
    try:
        with running_stack(
            bootstrap=bootstrap,
            topic_prefix=f"bench{stamp}.",
            database_url=database_url or f"sqlite:///{STATE / f'bench-{stamp}.sqlite3'}",
            state=STATE / "stack",
            window_ms=window_ms,
            poll_interval_s=0.2,
            simulator_flags=sim_flags,
            extra_env=env,
            collators=collators,
            resolvers=resolvers,
        ) as stack:
            pids = {process_label(name, proc.popen.pid): proc.popen.pid for name, proc in stack.procs.items()}
            extra = {"simulator": stack.simulator.pid}
            if broker_pid is not None:
                extra["broker"] = broker_pid

            def note() -> str:
                stats = stack.simulator.stats(include_custom_ids=False)
                return (
                    f"{stats['batches']} upstream batches, {stats['lines_submitted']} lines, "
                    f"duplicate custom_ids {len(stats['duplicate_custom_ids'])}"
                )

            yield Target(
                batch_gpt_name(ingress_workers, collators, resolvers, stack.env.get("BATCHGPT_TOPIC_PARTITIONS")),
                f"{stack.base_url}/chat/completions",
                pids,
                note,
                extra_pids=extra,
            )
    finally:
        if broker_port is not None:
            stop_broker(ROOT / ".kafka", broker_port)


def process_label(name: str, pid: int) -> str:
    """A process's label in the CPU column: its name, and how many processes its figure sums when it has
    descendants (the ingress's parent and its workers)."""
    count = len(process_tree(pid))
    return name if count == 1 else f"{name} ({count} processes)"


def batch_gpt_name(ingress_workers: int | None, collators: int, resolvers: int, partitions: str | None) -> str:
    """What ran, as the target's name: the ingress's workers, how many collators and resolvers, and the topic's
    partitions when set."""
    workers = "default ingress workers" if ingress_workers is None else f"{ingress_workers} ingress workers"

    def count(n: int, what: str) -> str:
        return what if n == 1 else f"{n} {what}s"

    topic = f"Kafka ({partitions} partitions)" if partitions else "Kafka"
    return f"batch-gpt ({workers} → {topic} → {count(collators, 'collator')} → {count(resolvers, 'resolver')})"


def _autobatcher_binary() -> Path:
    venv = STATE / "autobatcher-venv"
    binary = venv / "bin" / "autobatcher"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"autobatcher[serve]=={AUTOBATCHER_VERSION}"], check=True
        )
    return binary


@contextlib.contextmanager
def autobatcher_target(*, sim_flags: dict[str, object], window_ms: int) -> Iterator[Target]:
    """The peer, ``autobatcher serve --mode batch``, in a virtualenv of its own (it pins ``openai<3``)."""
    binary = _autobatcher_binary()
    sim = start_simulator_process(log_path=STATE / "simulator-peer.log", **sim_flags)
    port = free_port()
    log = (STATE / "autobatcher.log").open("wb")
    peer = subprocess.Popen(
        [
            str(binary), "serve", "--base-url", sim.base_url, "--api-key", "sk-bench", "--port", str(port),
            "--mode", "batch", "--batch-window", str(window_ms / 1000), "--poll-interval", "0.2",
            "--batch-size", "50000",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
        yield Target(
            f"autobatcher {AUTOBATCHER_VERSION} serve --mode batch",
            f"http://127.0.0.1:{port}/v1/chat/completions",
            {"autobatcher": peer.pid},
            extra_pids={"simulator": sim.pid},
        )
    finally:
        peer.terminate()
        peer.wait(20)
        log.close()
        sim.stop()


TargetFactory = Callable[[], contextlib.AbstractContextManager[Target]]


def compared_targets(
    *,
    sim_flags: dict[str, object],
    window_ms: int,
    ingress_workers: int | None,
    database_url: str | None,
    ceiling: bool,
    peer: bool,
    extra_env: dict[str, str] | None = None,
    collators: int = 1,
    resolvers: int = 1,
) -> list[TargetFactory]:
    """The targets of one comparison, in order (the ceiling, batch-gpt, the peer), each started when called."""
    targets: list[TargetFactory] = []
    if ceiling:
        targets.append(lambda: simulator_ceiling(sim_flags))
    targets.append(
        lambda: batch_gpt_target(
            sim_flags=sim_flags,
            window_ms=window_ms,
            ingress_workers=ingress_workers,
            database_url=database_url,
            extra_env=extra_env,
            collators=collators,
            resolvers=resolvers,
        )
    )
    if peer:
        targets.append(lambda: autobatcher_target(sim_flags=sim_flags, window_ms=window_ms))
    return targets
