"""How much memory a held call costs the ingress: hold N concurrent calls, print RSS per held call.

Starts ``--replicas`` ``batch-gpt ingress`` processes (each on its own port, all sharing one SQLite
file in a temporary directory, one topic prefix and the broker at ``KAFKA_BOOTSTRAP_SERVERS`` or a
local one from ``batchgpt.broker``: several replicas sharing Kafka and the database is a
supported deployment), warms each up, reads their RSS, then spreads N held calls over them. The
calls come from several client processes, each opening raw HTTP/1.1 connections on 127.0.0.x to
its replica and sending one chat completion per connection that is held (nobody answers it). Once
the replicas' ``batchgpt_ingress_held_calls`` add up to N, every replica's RSS is read again.

    python -m bench.ingress_memory --calls 50000 [--json PATH]

``--json PATH`` also writes the figures as JSON (what ``bench/regenerate.py`` reads).

A process can hold only as many sockets as its open-files limit allows, so by default there are as
many replicas (and client processes) as it takes to keep each under ``_PER_PROCESS`` calls.
Everything stays on loopback and is bounded by ``--timeout``. Nothing answers the requests, so the
calls stay held until the clients hang up and the replicas are stopped (SIGTERM) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_HELD = re.compile(rb"^batchgpt_ingress_held_calls ([0-9.e+]+)$", re.MULTILINE)
_PER_SOURCE_IP = 20000  # keep well under the ephemeral port range per source ip
_FD_MARGIN = 2_000  # sockets and files a process needs besides the held calls
_PER_PROCESS = 18_000  # at most this many held calls per replica and per client process


def _raise_nofile(limit: int) -> int:
    """Raise the open-files limit to ``limit`` (or as far as allowed); return the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        return limit
    except (ValueError, OSError):  # raising the hard limit needs CAP_SYS_RESOURCE
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _split(total: int, parts: int) -> list[int]:
    """``total`` spread as evenly as possible over ``parts``."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class _Sink(asyncio.Protocol):
    """A client connection that sends its request and ignores whatever comes back."""

    __slots__ = ("transport",)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pass


def _request(port: int, text: str, prefer: str) -> bytes:
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nPrefer: {prefer}\r\n\r\n"
    )
    return head.encode() + body


async def _held_calls(port: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    found = _HELD.search(data)
    return float(found.group(1)) if found else 0.0


async def _warm_up(port: int, count: int, run: str) -> None:
    """Answered at once (respond-async): loads every code path and pool before the baseline."""

    async def one(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            _request(port, f"warm {run} {port} {i}", "respond-async").replace(
                b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1
            )
        )
        await reader.read()
        writer.close()

    for start in range(0, count, 50):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))


@dataclass(frozen=True)
class _ClientSpec:
    """One client process: ``calls`` held calls to the replica on ``port``, numbered from ``first``."""

    index: int
    port: int
    first: int  # global number of its first call: picks the source address and makes the text unique
    calls: int
    window: int  # calls opened ahead of those the replica reports held (shared by its clients)
    deadline: float  # time.time() after which it gives up
    run: str


async def _hold(spec: _ClientSpec, opened_here: Any, release: Any) -> None:
    """Open ``spec.calls`` held calls, keep them open until ``release`` is set, then hang up.

    ``opened_here`` counts the calls opened by every client of this replica, so that together they
    stay at most ``spec.window`` ahead of what the replica reports held.
    """
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    while len(transports) < spec.calls:
        if time.time() > spec.deadline:
            raise TimeoutError(f"client {spec.index}: only {len(transports)} of {spec.calls} calls opened in time")
        held = await _held_calls(spec.port)
        with opened_here.get_lock():
            room = min(spec.calls - len(transports), spec.window - max(0, opened_here.value - int(held)))
            if room > 0:
                opened_here.value += room
        if room <= 0:
            await asyncio.sleep(0.25)  # poll interval while the replica catches up
            continue
        batch = []
        for n in range(spec.first + len(transports), spec.first + len(transports) + room):
            source = f"127.0.0.{2 + n // _PER_SOURCE_IP}"
            batch.append(loop.create_connection(_Sink, "127.0.0.1", spec.port, local_addr=(source, 0)))
        for transport, _protocol in await asyncio.gather(*batch):
            n = spec.first + len(transports)
            transport.write(_request(spec.port, f"held {spec.run} {n}", "wait=3600"))  # type: ignore[attr-defined]
            transports.append(transport)
    # Everything is open: hold it until the main process has read the replicas' RSS.
    remaining = max(1.0, spec.deadline - time.time() + 300)
    await asyncio.to_thread(release.wait, remaining)
    for transport in transports:
        transport.close()


def _client_main(spec: _ClientSpec, opened_here: Any, release: Any) -> None:
    """Entry point of a client process."""
    _raise_nofile(spec.calls + _FD_MARGIN)
    asyncio.run(_hold(spec, opened_here, release))


def _start_broker() -> tuple[str, object]:
    from batchgpt.broker import start_broker, stop_broker

    home = ROOT / ".kafka"
    port = _free_port()
    handle = start_broker(home, port=port, timeout_s=120)
    return handle.bootstrap_servers, lambda: stop_broker(home, port)


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ingress on port {port} exited with {process.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"ingress on port {port} not ready within {timeout_s:.0f} s")


async def _wait_held(
    ports: list[int], replicas: list[subprocess.Popen[bytes]], clients: list[Any], total: int, deadline: float
) -> list[float]:
    """Wait until the replicas report ``total`` held calls between them; return each one's count."""
    last_report = time.monotonic()
    while True:
        held = list(await asyncio.gather(*(_held_calls(port) for port in ports)))
        if sum(held) >= total:
            return held
        failed = [client for client in clients if client.exitcode not in (None, 0)]
        if failed:
            raise RuntimeError(f"client process {failed[0].name} exited with {failed[0].exitcode}")
        for port, process in zip(ports, replicas, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"ingress on port {port} exited with {process.returncode}")
        if time.time() > deadline:
            raise TimeoutError(f"only {sum(held):,.0f} of {total:,} calls held before the deadline")
        if time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            print(f"  ... {sum(held):,.0f} of {total:,} calls held", file=sys.stderr, flush=True)
        await asyncio.sleep(0.5)  # poll interval of a wait for a condition, bounded by the deadline


def _stop(replicas: list[subprocess.Popen[bytes]], clients: list[Any], release: Any) -> None:
    """Let the clients hang up (kill them if they do not), then SIGTERM the replicas (kill if stuck)."""
    release.set()
    deadline = time.monotonic() + 60
    for client in clients:
        client.join(max(0.1, deadline - time.monotonic()))
    for client in clients:
        if client.is_alive():
            client.kill()
            client.join(10)
    for process in replicas:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 120
    for process in replicas:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the RSS per held call."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingress_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="concurrent held calls in all (default 50000)")
    parser.add_argument(
        "--replicas", type=int, default=0, help=f"ingress processes (default: enough for <= {_PER_PROCESS:,} each)"
    )
    parser.add_argument("--window", type=int, default=1000, help="calls opened ahead of those held, per replica")
    parser.add_argument("--warm-up", type=int, default=1000, help="answered calls per replica before the baseline")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="hold the calls in a bare ASGI app on uvicorn instead (bench/bare_asgi.py --hold): the floor",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    started_at = time.monotonic()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cap = _PER_PROCESS if hard == resource.RLIM_INFINITY else max(1, min(_PER_PROCESS, hard - _FD_MARGIN))
    replicas = args.replicas or max(1, math.ceil(args.calls / cap))
    nofile = _raise_nofile(math.ceil(args.calls / replicas) + _FD_MARGIN)  # for this process and every child
    per_process = max(1, nofile - _FD_MARGIN)
    per_client = min(_PER_PROCESS, per_process)
    if math.ceil(args.calls / replicas) > per_process:
        calls = per_process * replicas
        print(
            f"NOTE: the open-files limit is {nofile:,} per process here (no CAP_SYS_RESOURCE to raise it), so "
            f"{replicas} replica(s) hold {calls:,} calls instead of {args.calls:,}; more --replicas would hold all."
        )
        args.calls = calls
    shares = _split(args.calls, replicas)
    stop_broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        bootstrap, stop_broker = _start_broker()
    run = uuid.uuid4().hex[:8]
    ports = [_free_port() for _ in range(replicas)]
    mp = multiprocessing.get_context("spawn")  # no fork of a process with librdkafka threads
    release = mp.Event()
    processes: list[subprocess.Popen[bytes]] = []
    clients: list[Any] = []
    counters: list[Any] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ingress-") as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHGPT_")}
            env.update(
                {
                    "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "BATCHGPT_TOPIC_PREFIX": f"bench{run}.",
                    "BATCHGPT_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                    "BATCHGPT_MAX_WAIT_S": "3600",
                    "BATCHGPT_MAX_PENDING_PER_KEY": str(args.calls * 10),
                    "BATCHGPT_LOG_LEVEL": "WARNING",
                    "BATCHGPT_INGRESS_WORKERS": "1",  # a replica is one process: the RSS read is its own
                    "PYTHONPATH": str(ROOT),
                }
            )
            try:
                for index, port in enumerate(ports):
                    server = (
                        ["bench.bare_asgi", "--hold"]
                        if args.bare
                        else ["batchgpt.cli", "ingress", "--host", "127.0.0.1"]
                    )
                    processes.append(
                        subprocess.Popen(
                            [sys.executable, "-m", *server, "--port", str(port)],
                            env=env,
                            cwd=ROOT,
                            preexec_fn=lambda: _raise_nofile(nofile),  # noqa: PLW1509 - only sets a limit
                            stdout=open(Path(tmp) / f"ingress-{index}.log", "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT,
                        )
                    )
                for port, process in zip(ports, processes, strict=True):
                    _wait_ready(port, process, 180)

                async def warm_all() -> None:
                    await asyncio.gather(*(_warm_up(port, args.warm_up, run) for port in ports))

                asyncio.run(asyncio.wait_for(warm_all(), 300))
                baseline_kb = [_rss_kb(process.pid) for process in processes]

                started = time.monotonic()
                deadline = time.time() + args.timeout
                first = 0
                for replica, (port, share) in enumerate(zip(ports, shares, strict=True)):
                    opened_here = mp.Value("q", 0)
                    counters.append(opened_here)  # Process.start() drops its args; the child still needs it
                    for part in _split(share, math.ceil(share / per_client)):
                        spec = _ClientSpec(len(clients), port, first, part, args.window, deadline, run)
                        clients.append(
                            mp.Process(target=_client_main, args=(spec, opened_here, release), name=f"client-{replica}")
                        )
                        first += part
                for client in clients:
                    client.start()

                held = asyncio.run(_wait_held(ports, processes, clients, args.calls, deadline))
                ramp_s = time.monotonic() - started
                holding_kb = [_rss_kb(process.pid) for process in processes]
            finally:
                _stop(processes, clients, release)
    finally:
        if stop_broker is not None:
            stop_broker()  # type: ignore[operator]
    total_held = sum(held)
    per_call_kb = (sum(holding_kb) - sum(baseline_kb)) / total_held
    print(f"replicas:              {replicas} ingress processes, {len(clients)} client processes")
    print(f"held calls:            {total_held:,.0f} (ramp {ramp_s:.1f} s, run {time.monotonic() - started_at:.0f} s)")
    for index, (port, process) in enumerate(zip(ports, processes, strict=True)):
        print(
            f"  replica {index} (:{port}, pid {process.pid}): held {held[index]:,.0f}, RSS baseline "
            f"{baseline_kb[index] / 1024:,.1f} MiB, holding {holding_kb[index] / 1024:,.1f} MiB "
            f"({(holding_kb[index] - baseline_kb[index]) / max(held[index], 1):.2f} KB per held call)"
        )
    print(f"ingress RSS baseline:  {sum(baseline_kb) / 1024:,.1f} MiB (after {args.warm_up} answered calls each)")
    print(f"ingress RSS holding:   {sum(holding_kb) / 1024:,.1f} MiB")
    print(f"RSS per held call:     {per_call_kb:.2f} KB (target <= 15 KB: {'met' if per_call_kb <= 15 else 'MISSED'})")
    if args.json is not None:
        figures = {
            "replicas": replicas,
            "held_calls": total_held,
            "baseline_kb": sum(baseline_kb),
            "holding_kb": sum(holding_kb),
            "per_call_kb": per_call_kb,
        }
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if per_call_kb <= 15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
