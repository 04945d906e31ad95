"""``batch-gpt ingress``: the shared start-up sequence (:mod:`batchgpt.boot`), then the app on uvicorn."""

from __future__ import annotations

import argparse
import resource
import signal
import socket
import sys
from typing import Any

import uvicorn

from batchgpt.boot import BootFailed, flag_overrides, start
from ingress.http.app import create_app
from ingress.process.server import DrainingServer
from ingress.process.shared_metrics import SharedMetrics
from ingress.process.workers import run_workers
from ingress.settings import IngressSettings

__all__ = ["main"]

_FLAGS = {"host": "host", "port": "port", "workers": "workers"}

SERVER_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "log_config": None,
    "access_log": False,
    "proxy_headers": False,  # nothing reads the client's address or scheme: one ASGI layer less per call
    "backlog": 4096,
    "timeout_keep_alive": 75,
}
"""How uvicorn serves the ingress (and the floor benchmark's bare app, ``bench/bare_asgi.py``)."""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="batch-gpt ingress", description="The OpenAI-compatible HTTP front of batch-gpt."
    )
    parser.add_argument("--host", default=None, help="listen address (BATCHGPT_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="listen port (BATCHGPT_PORT, default 8000)")
    parser.add_argument(
        "--workers",
        default=None,
        help="worker processes sharing the port: auto (one per usable core, at most 8) or a number "
        "(BATCHGPT_INGRESS_WORKERS, default auto)",
    )
    return parser.parse_args(argv)


def _raise_open_files_limit() -> None:
    """Every held call is an open socket: use the hard limit of open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    """Run the ingress until SIGTERM/SIGINT; held calls are answered with 202 before it exits."""
    overrides = flag_overrides(_parse(list(sys.argv[1:] if argv is None else argv)), _FLAGS)
    try:
        # topics and migrations: the app's lifespan, so that every worker process is ready on its own
        settings = start(IngressSettings, "ingress", overrides, upstream_key=None)
    except BootFailed as failed:
        return failed.code
    _raise_open_files_limit()
    if settings.workers > 1:
        return run_workers(settings, serve)
    return serve(settings)


def serve(
    settings: IngressSettings, sock: socket.socket | None = None, shared_metrics: SharedMetrics | None = None
) -> int:
    """Serve one ingress process until SIGTERM/SIGINT (a supervisor's worker: on the ``sock`` it bound, with the
    ``shared_metrics`` of all its workers)."""
    app = create_app(settings, shared_metrics)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        timeout_graceful_shutdown=30,
        **SERVER_OPTIONS,
    )
    server = DrainingServer(config, app.state.drain)
    # uvicorn re-raises the exit signal once shut down; a no-op handler turns that into a clean exit 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: None)
    server.run(sockets=[sock] if sock is not None else None)
    return 0 if server.started or server.should_exit else 1


if __name__ == "__main__":
    raise SystemExit(main())
