"""Load benchmark: batch-gpt vs ``autobatcher serve`` vs the simulator's synchronous endpoint.

One run, one simulator, the same batch window and the same load (wrk, unique prompts, every answer
checked against its own prompt). Prints sustained requests per second, p50/p99 latency and the peak
RSS of every process, as a Markdown table.

    python bench/load.py [--duration 30] [--connections 1500,4000] [--repeat 3] [--window-ms 1000]

Each target runs alone on the machine, freshly started for each connection count: a short warm-up
run, then ``--repeat`` measured runs; the table gives the median (and range) of the runs, since a
closed loop of batch windows varies noticeably from run to run.

Needs ``wrk`` (Debian package) and, for the peer, a separate virtualenv with ``autobatcher[serve]``
(it pins ``openai<3``), which this script creates under ``.run/bench/`` on first use.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from batchgpt.broker import start_broker, stop_broker  # noqa: E402
from batchgpt.devstack.stack import running_stack  # noqa: E402
from batchgpt.simulator.testing import free_port, start_simulator_process  # noqa: E402

STATE = ROOT / ".run" / "bench"
AUTOBATCHER_VERSION = "0.12.0"


@dataclass
class Result:
    target: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    non200: int
    crossed: int
    rss_mb: dict[str, float]


def _peak_rss_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a process and its children, in MB."""
    total = 0.0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
        pids += [int(p) for p in children.split()]
    except OSError:
        pass
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            total += int(match.group(1)) / 1024
    return round(total, 1)


def _wrk(url: str, duration: int, connections: int, threads: int = 2) -> tuple[dict[str, float], str]:
    """Run wrk with the checking script (``BENCH_PREFER`` in the environment is passed on to it)."""
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "120s", "--latency",
        "-s", str(ROOT / "bench" / "wrk_chat.lua"), url,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    check = re.search(r"BENCH-CHECK ok=(\d+) non200=(\d+) crossed=(\d+)", out)
    lat = re.search(r"BENCH-LATENCY p50_ms=([\d.]+) p99_ms=([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not (check and lat and total):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    seconds = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)
    figures.update(
        ok=float(check.group(1)), non200=float(check.group(2)), crossed=float(check.group(3)),
        p50=float(lat.group(1)), p99=float(lat.group(2)), requests=float(total.group(1)), seconds=seconds,
    )  # fmt: skip
    return figures, out


def _result(target: str, figures: dict[str, float], rss: dict[str, float]) -> Result:
    return Result(
        target=target,
        requests=int(figures["requests"]),
        seconds=figures["seconds"],
        rps=figures["ok"] / figures["seconds"],
        p50_ms=figures["p50"],
        p99_ms=figures["p99"],
        ok=int(figures["ok"]),
        non200=int(figures["non200"]),
        crossed=int(figures["crossed"]),
        rss_mb=rss,
    )


def _autobatcher_venv() -> Path:
    venv = STATE / "autobatcher-venv"
    binary = venv / "bin" / "autobatcher"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"autobatcher[serve]=={AUTOBATCHER_VERSION}"], check=True
        )
    return binary


def _wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


@dataclass
class Target:
    """One thing under load: its URL and the processes whose peak RSS is reported."""

    name: str
    url: str
    pids: dict[str, int]
    note: Callable[[], str] | None = None


@contextlib.contextmanager
def _simulator_ceiling(sim_flags: dict[str, object]) -> Iterator[Target]:
    sim = start_simulator_process(log_path=STATE / "simulator-sync.log", **sim_flags)
    try:
        yield Target("simulator sync endpoint (ceiling)", f"{sim.root_url}/v1/chat/completions", {"simulator": sim.pid})
    finally:
        sim.stop()


@contextlib.contextmanager
def _batch_gpt(args: argparse.Namespace, sim_flags: dict[str, object]) -> Iterator[Target]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker_port = None
    if not bootstrap:
        broker_port = free_port()
        bootstrap = start_broker(ROOT / ".kafka", port=broker_port).bootstrap_servers
    stamp = f"{int(time.time())}{os.getpid()}"
    database_url = args.database_url or f"sqlite:///{STATE / f'bench-{stamp}.sqlite3'}"
    try:
        with running_stack(
            bootstrap=bootstrap,
            topic_prefix=f"bench{stamp}.",
            database_url=database_url,
            state=STATE / "stack",
            window_ms=args.window_ms,
            poll_interval_s=0.2,
            simulator_flags=sim_flags,
            extra_env={
                "BATCHGPT_LOG_LEVEL": "WARNING",
                "BATCHGPT_MAX_PENDING_PER_KEY": "1000000",
                "BATCHGPT_INGRESS_WORKERS": str(args.ingress_workers),
            },
        ) as stack:
            pids = {name: proc.popen.pid for name, proc in stack.procs.items()}
            pids["simulator"] = stack.simulator.pid

            def note() -> str:
                stats = stack.simulator.stats(include_custom_ids=False)
                return (
                    f"{stats['batches']} upstream batches, {stats['lines_submitted']} lines, "
                    f"duplicate custom_ids {len(stats['duplicate_custom_ids'])}"
                )

            workers = f"{args.ingress_workers} ingress worker{'s' if args.ingress_workers > 1 else ''}"
            yield Target(f"batch-gpt ({workers} → Kafka → collator → resolver)", f"{stack.base_url}/chat/completions",
                         pids, note)  # fmt: skip
    finally:
        if broker_port is not None:
            stop_broker(ROOT / ".kafka", broker_port)


@contextlib.contextmanager
def _autobatcher(args: argparse.Namespace, sim_flags: dict[str, object]) -> Iterator[Target]:
    binary = _autobatcher_venv()
    sim = start_simulator_process(log_path=STATE / "simulator-peer.log", **sim_flags)
    port = free_port()
    log = (STATE / "autobatcher.log").open("wb")
    peer = subprocess.Popen(
        [
            str(binary), "serve", "--base-url", sim.base_url, "--api-key", "sk-bench", "--port", str(port),
            "--mode", "batch", "--batch-window", str(args.window_ms / 1000), "--poll-interval", "0.2",
            "--batch-size", "50000",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/health")
        yield Target(f"autobatcher {AUTOBATCHER_VERSION} serve --mode batch", f"http://127.0.0.1:{port}/v1/chat/completions",
                     {"autobatcher": peer.pid, "simulator": sim.pid})  # fmt: skip
    finally:
        peer.terminate()
        peer.wait(20)
        log.close()
        sim.stop()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _measure(target: Target, args: argparse.Namespace, connections: int) -> list[Result]:
    """A short warm-up run (not counted), then ``args.repeat`` measured runs against one running target."""
    if args.warmup > 0:
        _wrk(target.url, args.warmup, connections)
    runs = []
    for _ in range(args.repeat):
        figures, _ = _wrk(target.url, args.duration, connections)
        runs.append(_result(target.name, figures, {name: _peak_rss_mb(pid) for name, pid in target.pids.items()}))
        sys.stdout.write(
            f"  {target.name}, {connections} connections: {runs[-1].rps:.0f} req/s, p50 {runs[-1].p50_ms:.0f} ms, "
            f"p99 {runs[-1].p99_ms:.0f} ms, ok {runs[-1].ok}, non-200 {runs[-1].non200}, "
            f"crossed {runs[-1].crossed}\n"
        )
        sys.stdout.flush()
    if target.note is not None:
        sys.stdout.write(f"  {target.name}: {target.note()}\n")
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds of each measured run")
    parser.add_argument(
        "--connections", default="1500,4000", help="concurrent connections (held calls); a comma-separated list"
    )
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per target and connection count")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of an uncounted run before measuring")
    parser.add_argument("--window-ms", type=int, default=1000, help="batch window for both proxies")
    parser.add_argument("--in-progress-s", type=float, default=0.5, help="simulated batch processing time")
    parser.add_argument("--ingress-workers", type=int, default=2, help="batch-gpt ingress worker processes")
    parser.add_argument("--database-url", default=None, help="batch-gpt's database (default: a new SQLite file)")
    parser.add_argument("--skip-peer", action="store_true", help="leave out autobatcher")
    parser.add_argument("--skip-ceiling", action="store_true", help="leave out the simulator's sync endpoint")
    parser.add_argument(
        "--respond-async",
        action="store_true",
        help="batch-gpt alone, every call sent with 'Prefer: respond-async' (202 at once): the ingress's accept rate",
    )
    args = parser.parse_args()
    if args.respond_async:
        os.environ["BENCH_PREFER"] = "respond-async"
        args.skip_peer = args.skip_ceiling = True
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    levels = [int(c) for c in str(args.connections).split(",") if c.strip()]
    STATE.mkdir(parents=True, exist_ok=True)
    sim_flags: dict[str, object] = {
        "validating_seconds": 0.05, "in_progress_seconds": args.in_progress_s, "finalizing_seconds": 0.05,
        "log_level": "warning",
    }  # fmt: skip
    targets: list[Callable[[], contextlib.AbstractContextManager[Target]]] = []
    if not args.skip_ceiling:
        targets.append(lambda: _simulator_ceiling(sim_flags))
    targets.append(lambda: _batch_gpt(args, sim_flags))
    if not args.skip_peer:
        targets.append(lambda: _autobatcher(args, sim_flags))
    rows: list[tuple[int, list[Result]]] = []
    for connections in levels:
        for make in targets:  # each target alone on the machine, freshly started for each connection count
            with make() as target:
                rows.append((connections, _measure(target, args, connections)))

    out = sys.stdout
    out.write(
        f"\nload: wrk -t2, {args.repeat} runs of {args.duration} s per row after a {args.warmup} s warm-up; unique "
        f"prompts, every answer checked; window {args.window_ms} ms; simulated batch time {args.in_progress_s} s"
        + ("; every call 'Prefer: respond-async' (a 202 with a request id counts as ok)" if args.respond_async else "")
        + "\n\n"
    )
    out.write(
        "| connections | target | req/s median (min–max) | p50 ms | p99 ms | ok | non-200 | crossed | peak RSS (MB) |\n"
    )
    out.write("|---:|---|---:|---:|---:|---:|---:|---:|---|\n")
    for connections, runs in rows:
        rps = [r.rps for r in runs]
        peak: dict[str, float] = {}
        for run in runs:
            for name, mb in run.rss_mb.items():
                peak[name] = max(peak.get(name, 0.0), mb)
        rss = ", ".join(f"{k} {v:.0f}" for k, v in peak.items())
        out.write(
            f"| {connections} | {runs[0].target} | {_median(rps):.0f} ({min(rps):.0f}–{max(rps):.0f}) "
            f"| {_median([r.p50_ms for r in runs]):.0f} | {_median([r.p99_ms for r in runs]):.0f} "
            f"| {sum(r.ok for r in runs)} | {sum(r.non200 for r in runs)} | {sum(r.crossed for r in runs)} | {rss} |\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
