"""Several ingress worker processes on one port: the parent binds the socket, forks the workers and
forwards SIGTERM/SIGINT to them.

Each worker is a full replica (its own Kafka producer, reply listener and correlator; shared Kafka and
database), exactly as separate ``batch-gpt ingress`` processes behind a load balancer would be; the
kernel spreads the connections of the shared listening socket over them. The parent forks before any
thread or event loop exists: nothing connects until a worker's app starts.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable

from ingress.settings import IngressSettings

__all__ = ["run_workers"]


def _bind(settings: IngressSettings) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


def run_workers(settings: IngressSettings, serve: Callable[[IngressSettings, socket.socket], int]) -> int:
    """Fork ``settings.workers`` processes running ``serve`` on one shared socket; wait for all of them."""
    sock = _bind(settings)
    children: list[int] = []
    for _ in range(settings.workers):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                code = serve(settings, sock)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    sock.close()

    def _forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    worst = 0
    for child in children:
        _pid, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        worst = worst or (code if code > 0 else 0)
    return worst
