"""Load benchmark: batch-gpt vs ``autobatcher serve`` vs the simulator's synchronous endpoint.

One run, one simulator, the same batch window and the same load (wrk, unique prompts, every answer
checked against its own prompt). Prints sustained requests per second, p50/p99 latency and the peak
RSS of every process, as a Markdown table.

    python bench/load.py [--duration 30] [--connections 1500,4000] [--repeat 3] [--window-ms 1000] [--json PATH]

``--ingress-workers default`` runs batch-gpt's ingress with its own default worker count (what a user runs);
``--json PATH`` also writes the table's rows as JSON (what ``bench/regenerate.py`` reads).

Each target runs alone on the machine, freshly started for each connection count: a short warm-up
run, then ``--repeat`` measured runs; the table gives the median (and range) of the runs, since a
closed loop of batch windows varies noticeably from run to run.

Needs ``wrk`` (Debian package) and, for the peer, a separate virtualenv with ``autobatcher[serve]``
(it pins ``openai<3``), which this script creates under ``.run/bench/`` on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.targets import STATE, Target, compared_targets, peak_rss_mb  # noqa: E402


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


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _measure(target: Target, args: argparse.Namespace, connections: int) -> list[Result]:
    """A short warm-up run (not counted), then ``args.repeat`` measured runs against one running target."""
    if args.warmup > 0:
        _wrk(target.url, args.warmup, connections)
    runs = []
    for _ in range(args.repeat):
        figures, _ = _wrk(target.url, args.duration, connections)
        pids = {**target.pids, **target.extra_pids}
        runs.append(_result(target.name, figures, {name: peak_rss_mb(pid) for name, pid in pids.items()}))
        sys.stdout.write(
            f"  {target.name}, {connections} connections: {runs[-1].rps:.0f} req/s, p50 {runs[-1].p50_ms:.0f} ms, "
            f"p99 {runs[-1].p99_ms:.0f} ms, ok {runs[-1].ok}, non-200 {runs[-1].non200}, "
            f"crossed {runs[-1].crossed}\n"
        )
        sys.stdout.flush()
    if target.note is not None:
        sys.stdout.write(f"  {target.name}: {target.note()}\n")
    return runs


def _workers(value: str) -> int | None:
    """``--ingress-workers``: a count, or ``default`` for batch-gpt's own default."""
    return None if value == "default" else int(value)


@dataclass
class Row:
    """One row of the table: the median (and range) of the runs of one target at one connection count."""

    connections: int
    target: str
    rps_median: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    ok: int
    non200: int
    crossed: int
    peak_rss_mb: dict[str, float]


def _row(connections: int, runs: list[Result]) -> Row:
    rps = [r.rps for r in runs]
    peak: dict[str, float] = {}
    for run in runs:
        for name, mb in run.rss_mb.items():
            peak[name] = max(peak.get(name, 0.0), mb)
    return Row(
        connections=connections,
        target=runs[0].target,
        rps_median=_median(rps),
        rps_min=min(rps),
        rps_max=max(rps),
        p50_ms=_median([r.p50_ms for r in runs]),
        p99_ms=_median([r.p99_ms for r in runs]),
        ok=sum(r.ok for r in runs),
        non200=sum(r.non200 for r in runs),
        crossed=sum(r.crossed for r in runs),
        peak_rss_mb=peak,
    )


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
    parser.add_argument(
        "--ingress-workers", type=_workers, default=2, help="batch-gpt ingress worker processes, or 'default'"
    )
    parser.add_argument("--database-url", default=None, help="batch-gpt's database (default: a new SQLite file)")
    parser.add_argument("--skip-peer", action="store_true", help="leave out autobatcher")
    parser.add_argument("--skip-ceiling", action="store_true", help="leave out the simulator's sync endpoint")
    parser.add_argument(
        "--respond-async",
        action="store_true",
        help="batch-gpt alone, every call sent with 'Prefer: respond-async' (202 at once): the ingress's accept rate",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the rows as JSON")
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
    targets = compared_targets(
        sim_flags=sim_flags,
        window_ms=args.window_ms,
        ingress_workers=args.ingress_workers,
        database_url=args.database_url,
        ceiling=not args.skip_ceiling,
        peer=not args.skip_peer,
    )
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
    table = [_row(connections, runs) for connections, runs in rows]
    for row in table:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in row.peak_rss_mb.items())
        out.write(
            f"| {row.connections} | {row.target} | {row.rps_median:.0f} ({row.rps_min:.0f}–{row.rps_max:.0f}) "
            f"| {row.p50_ms:.0f} | {row.p99_ms:.0f} | {row.ok} | {row.non200} | {row.crossed} | {rss} |\n"
        )
    if args.json is not None:
        document = {
            "duration_s": args.duration,
            "repeat": args.repeat,
            "window_ms": args.window_ms,
            "rows": [asdict(row) for row in table],
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
