"""Open-loop benchmark: batch-gpt and ``autobatcher serve`` under a constant arrival rate.

A closed loop (``bench/load.py``) mostly measures latency; this one holds the arrival rate fixed whatever
the latency, as real traffic does, and reports what a user waits for and what a user pays for:

* end-to-end latency p50/p99/p999 and the **overhead**: latency minus the most that the batch window and
  the simulated Batch API can account for (``window + validating + in progress + finalizing``), so what
  is left is the proxy's own time (admission, Kafka, submission, polling, fan-out, the reply path);
* errors and wrong answers (every request carries a unique token that its answer must quote);
* **CPU-seconds per 1,000 requests** of each process (batch-gpt's ingress, collator and resolver, the
  broker, the peer), read from ``/proc`` before and after each rate;
* the highest rate each target sustained with overhead p99 under ``--overhead-target`` seconds.

    python bench/openloop.py [--rates 250,500,1000,2000] [--duration 30] [--skip-peer] [--json PATH]

``--json PATH`` also writes the figures as JSON (what ``bench/regenerate.py`` reads; see :func:`figures_json`).

Scale-out (two of each service on a 4-partition topic; each replica's CPU listed apart):

    python bench/openloop.py --rates 500,1000 --duration 20 --skip-peer --ingress-workers 2 \
        --collators 2 --resolvers 2 --env BATCHGPT_TOPIC_PARTITIONS=4

The load generator is vegeta (``go install`` of the version below into ``.run/bench/bin`` on first use:
needs Go and the Go module proxy), which keeps the rate by adding workers as answers are held. That it was
not the limit is shown in the output: the achieved send rate, and how late the sends were against the
ideal schedule (``send lag p99``).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.targets import STATE, Target, compared_targets, cpu_seconds  # noqa: E402

VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.13.0"


@dataclass
class RateResult:
    """One target at one arrival rate."""

    target: str
    rate: int
    sent: int
    ok: int
    errors: int
    wrong: int
    sent_rps: float
    """The rate vegeta actually sent at (the proof that the generator was not the limit)."""
    latency_ms: tuple[float, float, float]
    overhead_ms: tuple[float, float, float]
    send_lag_p99_ms: float
    cpu_per_1000: dict[str, float]


def vegeta_binary() -> Path:
    """vegeta from PATH, else built once into ``.run/bench/bin``."""
    found = shutil.which("vegeta")
    if found:
        return Path(found)
    bin_dir = STATE / "bin"
    binary = bin_dir / "vegeta"
    if not binary.exists():
        if shutil.which("go") is None:
            sys.exit("vegeta is needed: install Go (the script then builds vegeta) or put vegeta on PATH")
        bin_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(bin_dir)}
        subprocess.run(["go", "install", f"{VEGETA_MODULE}@{VEGETA_VERSION}"], check=True, env=env)
    return binary


def percentiles(values: list[float], points: tuple[float, ...] = (0.5, 0.99, 0.999)) -> tuple[float, ...]:
    """Nearest-rank percentiles of ``values`` (NaN for none)."""
    if not values:
        return tuple(math.nan for _ in points)
    ordered = sorted(values)
    return tuple(ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))] for p in points)


def write_targets(path: Path, url: str, tokens: list[str], model: str) -> None:
    """vegeta's JSON targets, one per token, in order."""
    header = {"Content-Type": ["application/json"], "Authorization": ["Bearer sk-bench"]}
    with path.open("w") as out:
        for token in tokens:
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": f"benchmark prompt {token}"}]})
            line = {"method": "POST", "url": url, "body": base64.b64encode(body.encode()).decode(), "header": header}
            out.write(json.dumps(line) + "\n")


@dataclass
class Hit:
    seq: int
    code: int
    sent_at: float
    latency_s: float
    body: bytes
    error: str


def read_hits(results: Path, vegeta: Path) -> list[Hit]:
    """vegeta's binary results as :class:`Hit` records."""
    encoded = subprocess.run(
        [str(vegeta), "encode", "--to", "json", str(results)], capture_output=True, check=True
    ).stdout.decode()
    hits = []
    for line in encoded.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        stamp = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp()
        hits.append(
            Hit(
                seq=int(record["seq"]),
                code=int(record["code"]),
                sent_at=stamp,
                latency_s=int(record["latency"]) / 1e9,
                body=base64.b64decode(record.get("body") or ""),
                error=record.get("error") or "",
            )
        )
    return hits


def summarise(
    target: Target,
    rate: int,
    hits: list[Hit],
    tokens: list[str],
    inherent_s: float,
    cpu: dict[str, float],
) -> RateResult:
    ok_latency: list[float] = []
    errors = 0
    answered: list[tuple[Hit, str | None]] = []
    prefix = tokens[0].rsplit("-", 1)[0] if tokens else ""
    pattern = re.compile(re.escape(prefix) + r"-\d+")
    for hit in hits:
        if hit.code != 200:
            errors += 1
            continue
        found = pattern.search(hit.body.decode(errors="replace"))
        answered.append((hit, found.group(0) if found else None))
    # vegeta numbers a hit (seq) and reads its target in two steps, so under load seq i may carry another target:
    # the check is that every answer quotes a token of this run that no other answer quotes (a caller given
    # another's answer would make one token appear twice)
    quoted = Counter(token for _hit, token in answered if token is not None)
    wrong = 0
    for hit, token in answered:
        if token is None or quoted[token] > 1:
            wrong += 1
            continue
        ok_latency.append(hit.latency_s)
    first = min((h.sent_at for h in hits), default=0.0)
    lags = [max(0.0, h.sent_at - (first + h.seq / rate)) for h in hits]
    last = max((h.sent_at for h in hits), default=first)
    lat = percentiles(ok_latency)
    over = percentiles([max(0.0, x - inherent_s) for x in ok_latency])
    return RateResult(
        target=target.name,
        rate=rate,
        sent=len(hits),
        ok=len(ok_latency),
        errors=errors,
        wrong=wrong,
        sent_rps=(len(hits) - 1) / (last - first) if last > first else 0.0,
        latency_ms=(lat[0] * 1000, lat[1] * 1000, lat[2] * 1000),
        overhead_ms=(over[0] * 1000, over[1] * 1000, over[2] * 1000),
        send_lag_p99_ms=percentiles(lags, (0.99,))[0] * 1000,
        cpu_per_1000={name: seconds / max(1, len(hits)) * 1000 for name, seconds in cpu.items()},
    )


def attack(target: Target, rate: int, args: argparse.Namespace, vegeta: Path, inherent_s: float) -> RateResult:
    """Send ``rate`` requests/s for ``args.duration`` s, wait for every answer, and summarise."""
    run = uuid.uuid4().hex[:8]
    tokens = [f"ol-{run}-{i}" for i in range(rate * args.duration)]
    targets_file = STATE / f"openloop-{run}.targets"
    results_file = STATE / f"openloop-{run}.bin"
    write_targets(targets_file, target.url, tokens, args.model)
    pids = {**target.pids, **target.extra_pids}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    with results_file.open("wb") as out:
        subprocess.run(
            [
                str(vegeta), "attack", "-format=json", f"-targets={targets_file}", f"-rate={rate}/1s",
                f"-duration={args.duration}s", "-timeout=300s", "-max-body=-1", "-http2=false",
            ],
            stdout=out,
            check=True,
        )  # fmt: skip
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    hits = read_hits(results_file, vegeta)
    targets_file.unlink(missing_ok=True)
    results_file.unlink(missing_ok=True)
    return summarise(target, rate, hits, tokens, inherent_s, cpu)


def print_row(result: RateResult) -> None:
    lat, over = result.latency_ms, result.overhead_ms
    cpu = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result.cpu_per_1000.items())
    sys.stdout.write(
        f"| {result.target} | {result.rate} | {result.sent_rps:.0f} | {result.ok}/{result.sent} | {result.errors} "
        f"| {result.wrong} | {lat[0]:.0f} / {lat[1]:.0f} / {lat[2]:.0f} "
        f"| {over[0]:.0f} / {over[1]:.0f} / {over[2]:.0f} "
        f"| {result.send_lag_p99_ms:.1f} | {cpu} |\n"
    )
    sys.stdout.flush()


def sustained(results: list[RateResult], overhead_target_s: float) -> int | None:
    """The highest rate sent at ≥ 95 % of the offer and answered in full, with overhead p99 under target."""
    good = [
        r.rate
        for r in results
        if r.ok == r.sent and r.overhead_ms[1] < overhead_target_s * 1000 and r.sent_rps >= 0.95 * r.rate
    ]
    return max(good) if good else None


def figures_json(
    args: argparse.Namespace,
    inherent_s: float,
    by_target: dict[str, list[RateResult]],
    own: dict[str, list[str]],
) -> dict[str, object]:
    """The run's figures as one JSON document: its conditions, then per target the names of its own processes
    (the rest of ``cpu_per_1000`` is the broker's and the simulator's), each rate's result and the highest rate
    sustained."""
    return {
        "duration_s": args.duration,
        "window_ms": args.window_ms,
        "in_progress_s": args.in_progress_s,
        "inherent_s": inherent_s,
        "overhead_target_s": args.overhead_target,
        "targets": [
            {
                "name": name,
                "processes": own[name],
                "rates": [asdict(result) for result in results],
                "sustained": sustained(results, args.overhead_target),
            }
            for name, results in by_target.items()
        ],
    }


def raise_open_files_limit() -> None:
    """Held calls are sockets: let this script, vegeta and the services it starts open as many as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="250,500,1000,2000", help="arrival rates (requests/s), comma-separated")
    parser.add_argument("--duration", type=int, default=30, help="seconds of arrivals at each rate")
    parser.add_argument("--window-ms", type=int, default=1000, help="batch window for both proxies")
    parser.add_argument("--in-progress-s", type=float, default=0.5, help="simulated batch processing time")
    parser.add_argument(
        "--ingress-workers", type=int, default=None, help="batch-gpt ingress workers (default: its own)"
    )
    parser.add_argument("--collators", type=int, default=1, help="batch-gpt collator processes (replicas)")
    parser.add_argument("--resolvers", type=int, default=1, help="batch-gpt resolver processes (replicas)")
    parser.add_argument("--database-url", default=None, help="batch-gpt's database (default: a new SQLite file)")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--warmup", type=int, default=5, help="seconds at the lowest rate before measuring")
    parser.add_argument("--overhead-target", type=float, default=0.5, help="overhead p99 target, seconds")
    parser.add_argument("--skip-peer", action="store_true", help="leave out autobatcher")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a batch-gpt setting")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    rates = [int(r) for r in str(args.rates).split(",") if r.strip()]
    STATE.mkdir(parents=True, exist_ok=True)
    raise_open_files_limit()
    vegeta = vegeta_binary()
    sim_flags: dict[str, object] = {
        "validating_seconds": 0.05, "in_progress_seconds": args.in_progress_s, "finalizing_seconds": 0.05,
        "log_level": "warning",
    }  # fmt: skip
    inherent_s = args.window_ms / 1000 + 0.05 + args.in_progress_s + 0.05
    targets = compared_targets(
        sim_flags=sim_flags,
        window_ms=args.window_ms,
        ingress_workers=args.ingress_workers,
        database_url=args.database_url,
        ceiling=False,
        peer=not args.skip_peer,
        extra_env=dict(item.split("=", 1) for item in args.env),
        collators=args.collators,
        resolvers=args.resolvers,
    )
    workers = "default" if args.ingress_workers is None else str(args.ingress_workers)
    settings_note = (
        f"; batch-gpt: ingress workers {workers}, collators {args.collators}, resolvers {args.resolvers}"
        + (f", settings {' '.join(args.env)}" if args.env else "")
    )
    sys.stdout.write(
        f"open loop: vegeta {VEGETA_VERSION}, {args.duration} s at each rate, unique prompts, every answer checked; "
        f"window {args.window_ms} ms; simulated batch time {args.in_progress_s} s (+0.1 s validating and "
        f"finalizing); overhead = latency - {inherent_s:.2f} s; CPU in seconds per 1,000 requests; "
        f"started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}{settings_note}\n\n"
        "| target | offered req/s | sent req/s | ok/sent | errors | wrong | latency ms p50 / p99 / p999 "
        "| overhead ms p50 / p99 / p999 | send lag p99 ms | CPU-s per 1,000 requests |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    by_target: dict[str, list[RateResult]] = {}
    own: dict[str, list[str]] = {}
    for make in targets:
        with make() as target:
            own[target.name] = list(target.pids)
            if args.warmup > 0:
                attack(target, min(rates), argparse.Namespace(**{**vars(args), "duration": args.warmup}), vegeta, 0)
            for rate in rates:
                result = attack(target, rate, args, vegeta, inherent_s)
                by_target.setdefault(target.name, []).append(result)
                print_row(result)
            if target.note is not None:
                sys.stdout.write(f"\n{target.name}: {target.note()}\n")
    sys.stdout.write("\n")
    for name, results in by_target.items():
        best = sustained(results, args.overhead_target)
        sys.stdout.write(
            f"{name}: highest rate sustained with overhead p99 < {args.overhead_target * 1000:.0f} ms: "
            f"{best if best is not None else 'none of those run'} req/s\n"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(figures_json(args, inherent_s, by_target, own), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
