"""Several ingress worker processes on one port: the parent binds one listening socket per worker (all
on the same port, ``SO_REUSEPORT``), forks the workers and forwards SIGTERM/SIGINT to them.

Each worker is a full replica (its own Kafka producer, reply listener and correlator; shared Kafka and
database), exactly as separate ``batch-gpt ingress`` processes behind a load balancer would be. With a
socket each, the kernel spreads new connections evenly over the workers (by a hash of the connection);
one shared socket would let whichever worker wakes first take most connections, and keep-alive clients
would then stay on it. The parent binds every socket before forking, so a taken port fails at once, and
forks before any thread or event loop exists: nothing connects until a worker's app starts.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable

from ingress.settings import IngressSettings

__all__ = ["run_workers"]


def _bind_group(settings: IngressSettings, count: int) -> list[socket.socket]:
    """``count`` listening sockets on the same address and port (the first one's port when 0 was asked)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    port = settings.port
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((settings.host, port))
            port = sock.getsockname()[1]
            sock.listen(4096)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def run_workers(settings: IngressSettings, serve: Callable[[IngressSettings, socket.socket], int]) -> int:
    """Fork ``settings.workers`` processes running ``serve``, each on its own socket; wait for all of them."""
    sockets = _bind_group(settings, settings.workers)
    children: list[int] = []
    for index in range(settings.workers):
        pid = os.fork()
        if pid == 0:  # the worker: keeps its own socket only
            code = 1
            try:
                for other in sockets[:index] + sockets[index + 1 :]:
                    other.close()
                code = serve(settings, sockets[index])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    for sock in sockets:
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
