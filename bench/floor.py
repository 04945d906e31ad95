"""The floor: the CPU per request of the parts every request crosses in this design, each measured alone on this
machine with no batch-gpt code around it, to read the 0.5 ms-per-request target against.

    python -m bench.floor [--rate 1000] [--http-seconds 10] [--messages 20000] [--json PATH]

a. **HTTP in and out**: a bare ASGI app (``bench/bare_asgi.py``) on uvicorn with uvloop and httptools, as the
   ingress runs, answering a small JSON to each POST of a chat completion's body; vegeta sends ``--rate``
   requests/s for ``--http-seconds``; the server process's CPU from ``/proc``.
b. **Kafka produce** with its delivery report (confluent-kafka through batch-gpt's producer: acks=all,
   idempotent, its default linger) of ``--messages`` messages of a request message's size at ``--rate``.
c. **Kafka consume** of the same messages as they arrive: (i) a faust agent with ``stream.take_events`` as the
   collator reads, (ii) aiokafka ``getmany``, (iii) confluent-kafka ``consume`` (as the ingress reads replies).
d. **The admission's database work**: :func:`batchgpt.store.admission.admit_group` on a SQLite file in a
   temporary directory, in groups of ``--group`` fresh requests (a chat call at the default temperature looks
   nothing up: it only inserts).

Kafka parts (b, c) each run in a process of their own (``bench/floor_kafka.py``) on a broker started for the run
on a free port (never a shared one). One request's path is then: HTTP in and out once, its admission, the request
produced and consumed (the collator, faust), its reply produced (the resolver) and consumed by every ingress
worker (confluent-kafka, times ``--ingress-workers``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import queue
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.floor_kafka import CONSUMERS, KafkaRun, PartFigure, consume, produce  # noqa: E402
from bench.openloop import vegeta_binary, write_targets  # noqa: E402
from bench.targets import cpu_seconds, wait_http  # noqa: E402
from ingress.process.worker_count import auto_worker_count, usable_cores  # noqa: E402

__all__ = ["main", "request_path"]

_MESSAGE_BYTES = 350  # a request message: its body, ids and routing (schemas.messages.RequestMessage, encoded)


def request_path(parts: dict[str, PartFigure], ingress_workers: int, collator: str = "faust") -> list[list[Any]]:
    """One request's steps and the CPU ms of each: ``[step, ms]`` (the collator reading with ``collator``)."""
    return [
        ["HTTP in and out (bare ASGI on uvicorn)", parts["http"].cpu_ms],
        ["admission's database work", parts["admission"].cpu_ms],
        ["request produced (ingress)", parts["produce"].cpu_ms],
        [f"request consumed (collator, {collator})", parts[collator].cpu_ms],
        ["reply produced (resolver)", parts["produce"].cpu_ms],
        [
            f"reply consumed (confluent-kafka) by {ingress_workers} ingress worker(s)",
            parts["confluent"].cpu_ms * ingress_workers,
        ],
    ]


def http_part(rate: int, seconds: int) -> PartFigure:
    """(a) The bare ASGI app's CPU per request under vegeta at ``rate`` requests/s (after a second's warm-up)."""
    from batchgpt.simulator.testing import free_port

    vegeta = vegeta_binary()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    server = subprocess.Popen([sys.executable, "-m", "bench.bare_asgi", "--port", str(port)], cwd=ROOT)

    def attack(duration: int, tmp: Path) -> tuple[float, float, dict[str, Any]]:
        targets, results = tmp / "targets", tmp / "results.bin"
        write_targets(targets, url, [f"floor-{i}" for i in range(rate * duration)], "gpt-4o-mini")
        before, started = cpu_seconds(server.pid), time.monotonic()
        with results.open("wb") as out:
            subprocess.run(
                [
                    str(vegeta), "attack", "-format=json", f"-targets={targets}", f"-rate={rate}/1s",
                    f"-duration={duration}s", "-timeout=30s", "-http2=false",
                ],
                stdout=out,
                check=True,
            )  # fmt: skip
        cpu, elapsed = cpu_seconds(server.pid) - before, time.monotonic() - started
        report = subprocess.run([str(vegeta), "report", "-type=json", str(results)], capture_output=True, check=True)
        return cpu, elapsed, json.loads(report.stdout)

    try:
        wait_http(url)
        with tempfile.TemporaryDirectory(prefix="floor-http-") as tmp:
            attack(1, Path(tmp))
            cpu, elapsed, report = attack(seconds, Path(tmp))
        if report["success"] < 1:
            raise RuntimeError(f"the bare ASGI app failed requests: status codes {report['status_codes']}")
        return PartFigure("HTTP in and out: bare ASGI on uvicorn", int(report["requests"]), cpu, None, elapsed)
    finally:
        server.terminate()
        server.wait(20)


def kafka_parts(run: KafkaRun) -> dict[str, PartFigure]:
    """(b) and (c): the producer and the three consumers, each in a process of its own, at once."""
    mp = multiprocessing.get_context("spawn")  # no fork of a process with librdkafka threads
    results = mp.Queue()
    ready = {name: mp.Event() for name in CONSUMERS}
    processes = [mp.Process(target=consume, args=(name, run, ready[name], results), name=name) for name in CONSUMERS]
    processes.append(mp.Process(target=produce, args=(run, list(ready.values()), results), name="produce"))
    for process in processes:
        process.start()
    figures: dict[str, PartFigure] = {}
    failures: list[str] = []
    try:
        for _ in processes:
            try:
                name, figure = results.get(timeout=max(1.0, run.deadline - time.time() + 60))
            except queue.Empty:
                failures.append("no answer from a part before the deadline")
                break
            if isinstance(figure, PartFigure):
                figures[name] = figure
            else:
                failures.append(f"{name}: {figure}")
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join(10)
    if failures:
        raise RuntimeError("; ".join(failures))
    return figures


def admission_part(requests: int, group: int) -> PartFigure:
    """(d) ``admit_group`` on a SQLite file, ``group`` fresh requests at a time."""
    from batchgpt.store.admission import Admission, admit_group
    from batchgpt.store.engine import make_engine, migrate

    def items(count: int) -> list[Admission]:
        now = time.time()
        return [
            Admission(
                request_id=f"req_{uuid.uuid4().hex}",
                tenant="default",
                endpoint="/v1/chat/completions",
                model="gpt-4o-mini",
                fingerprint=uuid.uuid4().hex,
                idempotency_key=None,
                received_at=now,
                since=now - 3600,
                serve_stored=False,
            )
            for _ in range(count)
        ]

    with tempfile.TemporaryDirectory(prefix="floor-admission-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/floor.sqlite3")
        try:
            migrate(engine)
            admit_group(engine, items(group))  # warm-up: the connection and the statements
            groups = [items(group) for _ in range(max(1, requests // group))]
            cpu, started = time.process_time(), time.monotonic()
            for members in groups:
                outcomes = admit_group(engine, members)
                if any(isinstance(outcome, Exception) for outcome in outcomes):
                    raise RuntimeError(f"admission failed: {outcomes}")
            cpu, elapsed = time.process_time() - cpu, time.monotonic() - started
        finally:
            engine.dispose()
    count = sum(len(members) for members in groups)
    return PartFigure(f"admission: admit_group in groups of {group} (SQLite)", count, cpu, None, elapsed)


def _print(parts: dict[str, PartFigure], path: list[list[Any]], saving: dict[str, float]) -> None:
    out = sys.stdout
    out.write(
        "| part | counted | CPU ms per request or message | broker CPU ms per message (produced and read 3 times) |\n"
        "|---|---:|---:|---:|\n"
    )
    for figure in parts.values():
        broker = "" if figure.broker_cpu_ms is None else f"{figure.broker_cpu_ms:.3f}"
        out.write(f"| {figure.part} | {figure.messages} | {figure.cpu_ms:.3f} | {broker} |\n")
    out.write("\none request's path:\n")
    for step, ms in path:
        out.write(f"  {step:<70} {ms:.3f} ms\n")
    out.write(f"  {'sum':<70} {sum(ms for _, ms in path):.3f} ms (the target: 0.5 ms of batch-gpt CPU in all)\n")
    for name, ms in saving.items():
        out.write(f"  with a collator reading by {name}: {ms:.3f} ms\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="requests (messages) per second of a and b")
    parser.add_argument("--http-seconds", type=int, default=10, help="seconds of vegeta against the bare app")
    parser.add_argument("--messages", type=int, default=20_000, help="messages produced and consumed")
    parser.add_argument(
        "--batch", type=int, default=500, help="the most messages aiokafka's and confluent-kafka's consumers take"
    )
    parser.add_argument("--window-ms", type=int, default=1000, help="the faust agent's take_events window")
    parser.add_argument("--admissions", type=int, default=20_000, help="requests admitted")
    parser.add_argument("--group", type=int, default=20, help="requests per admission transaction")
    parser.add_argument(
        "--ingress-workers",
        type=int,
        default=auto_worker_count(usable_cores()),
        help="ingress workers each reading every reply (default: what BATCHGPT_INGRESS_WORKERS=auto makes here)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    from batchgpt.broker import start_broker, stop_broker
    from batchgpt.kafka import ensure_topics
    from batchgpt.settings import KafkaSettings, load_settings
    from batchgpt.simulator.testing import free_port

    parts: dict[str, PartFigure] = {"http": http_part(args.rate, args.http_seconds)}
    home, port = ROOT / ".kafka", free_port()
    broker = start_broker(home, port=port)
    try:
        topic = f"floor{uuid.uuid4().hex[:8]}.requests"
        ensure_topics(
            load_settings(KafkaSettings, environ={}, kafka_bootstrap_servers=broker.bootstrap_servers), [topic]
        )
        deadline = time.time() + args.messages / args.rate + 180
        run = KafkaRun(
            broker.bootstrap_servers, topic, args.messages, args.rate, args.batch, args.window_ms / 1000,
            _MESSAGE_BYTES, broker.pid, deadline,
        )  # fmt: skip
        parts.update(kafka_parts(run))
    finally:
        stop_broker(home, port)
    parts["admission"] = admission_part(args.admissions, args.group)
    parts = {key: parts[key] for key in ("http", "admission", "produce", *CONSUMERS)}  # the path's order
    path = request_path(parts, args.ingress_workers)
    saving = {
        name: sum(ms for _, ms in request_path(parts, args.ingress_workers, collator=name))
        for name in CONSUMERS
        if name != "faust"
    }
    _print(parts, path, saving)
    if args.json is not None:
        document = {
            "rate": args.rate,
            "http_seconds": args.http_seconds,
            "messages": args.messages,
            "batch": args.batch,
            "group": args.group,
            "ingress_workers": args.ingress_workers,
            "parts": {
                key: {"part": f.part, "counted": f.messages, "cpu_ms": f.cpu_ms, "broker_cpu_ms": f.broker_cpu_ms}
                for key, f in parts.items()
            },
            "path": path,
            "path_ms": sum(ms for _, ms in path),
            "path_ms_if_collator_reads_by": saving,
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
