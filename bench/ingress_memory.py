"""How much memory a held call costs the ingress: hold N concurrent calls, print RSS per held call.

Starts ``batch-gpt ingress`` as a subprocess (SQLite in a temporary directory; the broker at
``KAFKA_BOOTSTRAP_SERVERS`` or a local one from ``batchgpt_infra.broker``), warms it up, reads its
RSS, then opens N raw HTTP/1.1 connections on 127.0.0.x, each sending one chat completion that is
held (nobody answers it), waits until the ingress reports N held calls, and reads its RSS again.

    python -m bench.ingress_memory --calls 50000

Everything stays on loopback and is bounded by ``--timeout``. Nothing answers the requests, so the
calls stay held until the ingress is stopped (SIGTERM: held calls get 202) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_HELD = re.compile(rb"^batchgpt_ingress_held_calls ([0-9.e+]+)$", re.MULTILINE)
_PER_SOURCE_IP = 20000  # keep well under the ephemeral port range per (source ip, destination)


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
    data = await reader.read()
    writer.close()
    found = _HELD.search(data)
    return float(found.group(1)) if found else 0.0


async def _warm_up(port: int, count: int, run: str) -> None:
    """Answered at once (respond-async): loads every code path and pool before the baseline."""

    async def one(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            _request(port, f"warm {run} {i}", "respond-async").replace(
                b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1
            )
        )
        await reader.read()
        writer.close()

    for start in range(0, count, 50):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))


async def _hold(
    port: int, calls: int, window: int, deadline: float, run: str
) -> tuple[list[asyncio.BaseTransport], float]:
    """Open ``calls`` held calls, at most ``window`` ahead of what the ingress reports held."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    held = 0.0
    opened = 0
    while held < calls:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {held:.0f} of {calls} calls held before the deadline")
        target = min(calls, int(held) + window)
        batch = []
        while opened < target:
            source = f"127.0.0.{2 + opened // _PER_SOURCE_IP}"
            batch.append(loop.create_connection(_Sink, "127.0.0.1", port, local_addr=(source, 0)))
            opened += 1
        for transport, _protocol in await asyncio.gather(*batch):
            transport.write(_request(port, f"held {run} {len(transports)}", "wait=3600"))  # type: ignore[attr-defined]
            transports.append(transport)
        await asyncio.sleep(0.25)
        held = await _held_calls(port)
    return transports, held


def _start_broker() -> tuple[str, object]:
    from batchgpt_infra.broker import start_broker, stop_broker

    home = ROOT / ".kafka"
    port = _free_port()
    handle = start_broker(home, port=port, timeout_s=120)
    return handle.bootstrap_servers, lambda: stop_broker(home, port)


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ingress exited with {process.returncode} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("ingress not ready")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the RSS per held call."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingress_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="concurrent held calls (default 50000)")
    parser.add_argument("--window", type=int, default=1000, help="calls opened ahead of those held")
    parser.add_argument("--warm-up", type=int, default=1000, help="answered calls before the baseline")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    wanted = args.calls + 2_000  # each held call is one socket in the ingress and one here
    nofile = _raise_nofile(wanted)
    if nofile < wanted:
        calls = max(1_000, nofile - 2_000)
        print(
            f"NOTE: the open-files limit cannot be raised above {nofile} here (no CAP_SYS_RESOURCE), "
            f"so {calls:,} calls are held instead of {args.calls:,}."
        )
        args.calls = calls
    stop_broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        bootstrap, stop_broker = _start_broker()
    run = uuid.uuid4().hex[:8]
    port = _free_port()
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
                "PYTHONPATH": str(ROOT),
            }
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "batchgpt_infra.cli", "ingress", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            preexec_fn=lambda: _raise_nofile(nofile),  # noqa: PLW1509 - only sets a limit
            stdout=open(Path(tmp) / "ingress.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, process, 120)
            asyncio.run(_warm_up(port, args.warm_up, run))
            baseline_kb = _rss_kb(process.pid)
            started = time.monotonic()

            async def hold_and_measure() -> tuple[int, float, float]:
                transports, held = await _hold(port, args.calls, args.window, started + args.timeout, run)
                ramp = time.monotonic() - started
                rss = _rss_kb(process.pid)
                for transport in transports:
                    transport.close()
                return rss, held, ramp

            holding_kb, held, ramp_s = asyncio.run(hold_and_measure())
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
            if stop_broker is not None:
                stop_broker()  # type: ignore[operator]
    per_call_kb = (holding_kb - baseline_kb) / held
    print(f"held calls:            {held:,.0f} (ramp {ramp_s:.1f} s)")
    print(f"ingress RSS baseline:  {baseline_kb / 1024:,.1f} MiB (after {args.warm_up} answered calls)")
    print(f"ingress RSS holding:   {holding_kb / 1024:,.1f} MiB")
    print(f"RSS per held call:     {per_call_kb:.2f} KB (target <= 15 KB: {'met' if per_call_kb <= 15 else 'MISSED'})")
    return 0 if per_call_kb <= 15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
