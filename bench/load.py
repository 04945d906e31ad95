"""Load benchmark: batch-gpt vs ``autobatcher serve`` vs the simulator's synchronous endpoint.

One run, one simulator, the same batch window and the same load (wrk, unique prompts, every answer
checked against its own prompt). Prints sustained requests per second, p50/p99 latency and the peak
RSS of every process, as a Markdown table.

    python bench/load.py [--duration 30] [--connections 400] [--window-ms 1000]

Needs ``wrk`` (Debian package) and, for the peer, a separate virtualenv with ``autobatcher[serve]``
(it pins ``openai<3``), which this script creates under ``.run/bench/`` on first use.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from batchgpt_infra.broker import start_broker, stop_broker  # noqa: E402
from devstack.stack import running_stack  # noqa: E402
from simulator.testing import free_port, start_simulator_process  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per target")
    parser.add_argument("--connections", type=int, default=400, help="concurrent connections (held calls)")
    parser.add_argument("--window-ms", type=int, default=1000, help="batch window for both proxies")
    parser.add_argument("--in-progress-s", type=float, default=0.5, help="simulated batch processing time")
    parser.add_argument("--ingress-workers", type=int, default=2, help="batch-gpt ingress worker processes")
    parser.add_argument("--skip-peer", action="store_true", help="leave out autobatcher")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    STATE.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    sim_flags = {
        "validating_seconds": 0.05, "in_progress_seconds": args.in_progress_s, "finalizing_seconds": 0.05,
        "log_level": "warning",
    }  # fmt: skip

    # 1. the HTTP ceiling of this machine: the simulator's synchronous endpoint
    sim = start_simulator_process(log_path=STATE / "simulator-sync.log", **sim_flags)
    try:
        figures, _ = _wrk(f"{sim.root_url}/v1/chat/completions", args.duration, args.connections)
        results.append(_result("simulator sync endpoint (ceiling)", figures, {"simulator": _peak_rss_mb(sim.pid)}))
    finally:
        sim.stop()

    # 2. batch-gpt, every guarantee on
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker_port = None
    if not bootstrap:
        broker_port = free_port()
        bootstrap = start_broker(ROOT / ".kafka", port=broker_port).bootstrap_servers
    try:
        with running_stack(
            bootstrap=bootstrap,
            topic_prefix=f"bench{int(time.time())}.",
            database_url=f"sqlite:///{STATE / f'bench-{int(time.time())}.sqlite3'}",
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
            figures, _ = _wrk(f"{stack.base_url}/chat/completions", args.duration, args.connections)
            rss = {name: _peak_rss_mb(proc.popen.pid) for name, proc in stack.procs.items()}
            rss["simulator"] = _peak_rss_mb(stack.simulator.pid)
            stats = stack.simulator.stats(include_custom_ids=False)
            label = f"batch-gpt ({args.ingress_workers} ingress workers → Kafka → collator → resolver)"
            results.append(_result(label, figures, rss))
            sys.stdout.write(
                f"batch-gpt: {stats['batches']} upstream batches, {stats['lines_submitted']} lines, "
                f"duplicates {len(stats['duplicate_custom_ids'])}\n"
            )
    finally:
        if broker_port is not None:
            stop_broker(ROOT / ".kafka", broker_port)

    # 3. the closest open-source peer, on the same simulator settings, window and load
    if not args.skip_peer:
        binary = _autobatcher_venv()
        sim = start_simulator_process(log_path=STATE / "simulator-peer.log", **sim_flags)
        port = free_port()
        log = (STATE / "autobatcher.log").open("wb")
        peer = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--base-url",
                sim.base_url,
                "--api-key",
                "sk-bench",
                "--port",
                str(port),
                "--mode",
                "batch",
                "--batch-window",
                str(args.window_ms / 1000),
                "--poll-interval",
                "0.2",
                "--batch-size",
                "50000",
            ],  # fmt: skip
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_http(f"http://127.0.0.1:{port}/health")
            figures, _ = _wrk(f"http://127.0.0.1:{port}/v1/chat/completions", args.duration, args.connections)
            rss = {"autobatcher": _peak_rss_mb(peer.pid), "simulator": _peak_rss_mb(sim.pid)}
            results.append(_result(f"autobatcher {AUTOBATCHER_VERSION} serve --mode batch", figures, rss))
        finally:
            peer.terminate()
            peer.wait(20)
            log.close()
            sim.stop()

    out = sys.stdout
    out.write(
        f"\nload: wrk -t2 -c{args.connections} -d{args.duration}s, unique prompts, answers checked; "
        f"window {args.window_ms} ms; simulated batch time {args.in_progress_s} s\n\n"
    )
    out.write("| target | req/s | p50 ms | p99 ms | ok | non-200 | crossed | peak RSS (MB) |\n")
    out.write("|---|---:|---:|---:|---:|---:|---:|---|\n")
    for r in results:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in r.rss_mb.items())
        out.write(
            f"| {r.target} | {r.rps:.0f} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {r.ok} | {r.non200} | {r.crossed} "
            f"| {rss} |\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
