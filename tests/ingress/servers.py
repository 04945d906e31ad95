"""Real ingress servers for the tests: uvicorn in a thread of this process, or a ``batch-gpt ingress`` subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import uvicorn

from ingress.http.app import create_app
from ingress.process.server import DrainingServer
from ingress.process.service import IngressService
from ingress.settings import IngressSettings
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base_url: str, timeout_s: float = 60.0) -> None:
    """Wait until ``/readyz`` answers 200 (Kafka, database and the replies consumer ready)."""

    def ready() -> bool:
        try:
            return httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout_s=timeout_s, interval_s=0.1, what=f"{base_url}/readyz")


class ThreadedIngress:
    """``create_app(settings)`` served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, settings: IngressSettings) -> None:
        self.port = free_port()
        self.settings = settings.model_copy(update={"port": self.port})
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        self.server = DrainingServer(config, self.app.state.drain)
        self._thread = threading.Thread(target=self.server.run, name=f"ingress-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service(self) -> IngressService:
        service: IngressService = self.app.state.service
        return service

    def start(self) -> ThreadedIngress:
        self._thread.start()
        wait_ready(self.base_url)
        return self

    def stop(self) -> None:
        """Drain (held calls answered with 202) and stop, as on SIGTERM."""
        self.server.handle_exit(signal.SIGTERM, None)
        self._thread.join(timeout=30)


def ingress_env(settings_env: dict[str, str]) -> dict[str, str]:
    """The environment of an ingress subprocess: ours without BATCHGPT_*/KAFKA_* leftovers, plus ``settings_env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATCHGPT_", "KAFKA_"))}
    env.update(settings_env)
    env["PYTHONPATH"] = str(ROOT)
    return env


def spawn_ingress(settings_env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``batch-gpt ingress --port PORT`` as a subprocess (stdout/stderr to ``log_path``)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "batchgpt.cli", "ingress", "--host", "127.0.0.1", "--port", str(port)],
            env=ingress_env(settings_env),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
