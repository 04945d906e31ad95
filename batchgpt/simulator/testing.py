"""Running the simulator from tests: in-process on real uvicorn in a thread, or as a subprocess.

::

    with run_simulator(SimulatorSettings(in_progress_seconds=0.05)) as sim:
        client = OpenAI(base_url=sim.base_url, api_key="sk-test")
        ...
        assert sim.stats()["duplicate_custom_ids"] == []

Both wait for ``GET /_sim/health`` to answer, with a deadline; neither sleeps blindly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from pydantic import BaseModel

from batchgpt.simulator.app import create_app
from batchgpt.simulator.azure import API_PREFIX
from batchgpt.simulator.cli import env_name
from batchgpt.simulator.settings import SimulatorSettings

__all__ = [
    "RunningSimulator",
    "SimulatorProcess",
    "free_port",
    "run_simulator",
    "start_simulator_process",
    "wait_until",
]

T = TypeVar("T")
START_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    check: Callable[[], T | None], *, timeout: float = 10.0, interval: float = 0.01, what: str = "condition"
) -> T:
    """Call ``check`` until it returns something truthy (returned); ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


class _AdminClient:
    """Calls to the ``/_sim`` admin routes of a running simulator."""

    def __init__(self, root_url: str, *, dialect: str = "openai") -> None:
        self.root_url = root_url
        """Also the ``AZURE_OPENAI_ENDPOINT`` of a simulator in Azure's dialect."""
        self.base_url = root_url + (API_PREFIX if dialect == "azure" else "") + "/v1"
        self._http = httpx.Client(base_url=root_url, timeout=30.0)

    def _call(self, method: str, path: str, json: object = None) -> Any:
        response = self._http.request(method, path, json=json)
        response.raise_for_status()
        return response.json()

    def healthy(self) -> bool:
        """Whether ``/_sim/health`` answers 200."""
        try:
            return self._http.get("/_sim/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stats(self, *, include_custom_ids: bool = True) -> dict[str, Any]:
        """``GET /_sim/stats``."""
        path = "/_sim/stats" + ("" if include_custom_ids else "?include_custom_ids=false")
        result: dict[str, Any] = self._call("GET", path)
        return result

    def inject(self, spec: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Arm a fault: ``inject(kind="http_error", route="files.create", status=500, count=2)``."""
        result: dict[str, Any] = self._call("POST", "/_sim/faults", {**(spec or {}), **fields})
        return result

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._call("DELETE", "/_sim/faults")

    def reset(self) -> None:
        """Forget files, batches, faults and counts; start-up settings; real time."""
        self._call("POST", "/_sim/reset")

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change live settings, e.g. ``configure(in_progress_seconds=0.1)``."""
        result: dict[str, Any] = self._call("POST", "/_sim/config", changes)
        return result

    def advance_clock(self, seconds: float) -> dict[str, float]:
        """Jump the simulated time forward."""
        result: dict[str, float] = self._call("POST", "/_sim/clock/advance", {"seconds": seconds})
        return result

    def expire_batch(self, batch_id: str) -> dict[str, Any]:
        """Expire a running batch now (partial results)."""
        result: dict[str, Any] = self._call("POST", f"/_sim/batches/{batch_id}/expire")
        return result

    def finish_cancel(self, batch_id: str) -> dict[str, Any]:
        """End a ``cancelling`` batch now."""
        result: dict[str, Any] = self._call("POST", f"/_sim/batches/{batch_id}/finish-cancel")
        return result

    def close(self) -> None:
        """Close the admin HTTP client."""
        self._http.close()


class RunningSimulator(_AdminClient):
    """A simulator served by uvicorn in a background thread of this process."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int, *, dialect: str = "openai") -> None:
        super().__init__(f"http://127.0.0.1:{port}", dialect=dialect)
        self.port = port
        self.server = server
        self.thread = thread
        self.app: Any = server.config.app

    @property
    def settings(self) -> SimulatorSettings:
        """The live settings."""
        settings: SimulatorSettings = self.app.state.simulation.settings
        return settings


@contextmanager
def run_simulator(settings: SimulatorSettings | None = None, **overrides: Any) -> Iterator[RunningSimulator]:
    """Serve a simulator on a free 127.0.0.1 port in a thread; yield a handle; stop it on exit.

    ``overrides`` are settings fields applied on top of ``settings`` (defaults if none).
    """
    base = settings or SimulatorSettings()
    if overrides:
        base = SimulatorSettings.model_validate({**base.model_dump(), **overrides})
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the listener's
    # proto is IPPROTO_TCP; without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(base), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"simulator-{port}", daemon=True)
    thread.start()
    handle = RunningSimulator(server, thread, port, dialect=base.dialect)
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(),
            timeout=START_TIMEOUT_SECONDS,
            what="simulator start",
        )
        if not server.started:
            raise RuntimeError("the simulator thread ended before it started serving")
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        handle.close()
        sock.close()


class SimulatorProcess(_AdminClient):
    """A simulator running as ``python -m batchgpt.simulator`` in a child process."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path, *, dialect: str = "openai") -> None:
        super().__init__(f"http://127.0.0.1:{port}", dialect=dialect)
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def output(self) -> str:
        """What the child wrote to stdout/stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> int:
        """Terminate the child (SIGTERM) and wait for it; returns its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=timeout)
        self.close()
        return code

    def kill(self, timeout: float = 10.0) -> int:
        """Kill the child (SIGKILL), as in a crash, and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait(timeout=timeout)
        self.close()
        return code

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator_process(
    port: int | None = None,
    *,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
    **flags: Any,
) -> SimulatorProcess:
    """Start ``python -m batchgpt.simulator --port PORT`` with ``flags`` (``state_dir="/tmp/x"`` -> ``--state-dir``).

    Booleans become ``--flag`` / ``--no-flag``. Waits until the child answers ``/_sim/health``; raises
    ``RuntimeError`` with its output if it exits first or does not answer by ``timeout``.
    """
    port = port or free_port()
    args = [sys.executable, "-m", "batchgpt.simulator", "--host", "127.0.0.1", "--port", str(port)]
    for name, value in flags.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, list | tuple) and any(isinstance(v, dict | BaseModel) for v in value):
            items = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
            args += [flag, json.dumps(items)]
        elif isinstance(value, list | tuple):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, str(value)]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(env_name(""))}
    package_root = str(Path(__file__).resolve().parent.parent)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, child_env.get("PYTHONPATH")) if p)
    child_env.update(env or {})
    log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"batchgpt-simulator-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=child_env)
    handle = SimulatorProcess(process, port, log_path, dialect=str(flags.get("dialect", "openai")))
    try:
        wait_until(lambda: handle.healthy() or process.poll() is not None, timeout=timeout, what="simulator process")
    except TimeoutError:
        handle.kill()
        raise RuntimeError(f"simulator on port {port} did not start:\n{handle.output()}") from None
    if process.poll() is not None:
        raise RuntimeError(f"simulator exited with {process.returncode}:\n{handle.output()}")
    return handle
