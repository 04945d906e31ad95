"""Several ingress worker processes on one port, and the parent that supervises them.

The parent binds one listening socket per worker (all on the same port, ``SO_REUSEPORT``), forks the workers
and then only supervises: it replaces a worker that died, forwards SIGTERM/SIGINT to the workers and waits
for them.

Each worker is a full replica (its own Kafka producer, reply listener and correlator; shared Kafka and
database), exactly as separate ``batch-gpt ingress`` processes behind a load balancer would be. With a
socket each, the kernel spreads new connections evenly over the workers (by a hash of the connection);
one shared socket would let whichever worker wakes first take most connections, and keep-alive clients
would then stay on it. The parent binds every socket before forking, so a taken port fails at once.

**A worker that dies** (killed, or a non-zero exit while the parent is not stopping) is replaced: the parent
binds a fresh socket on the same port (the dead worker's socket closed with it; the parent keeps no copy,
and with ``SO_REUSEPORT`` only the same user can bind the port meanwhile) and forks a new worker on it. The
dead worker's callers see their connection close; the SDK's retries reach the other workers at once and
re-attach to their request by its fingerprint. When and whether to respawn (a crash loop backs off, then
gives up) is :mod:`ingress.process.respawn_policy`.

**Metrics**: every worker's ``/metrics`` shows the sum over the workers. The parent makes a fresh directory for
the run's metrics, each worker joins it right after the fork (before its app builds a metric), the parent drops
a reaped worker's live gauges (its counters stay) and removes the directory at exit
(:mod:`ingress.process.shared_metrics`).

**Stopping**: on SIGTERM/SIGINT the parent forwards the signal to every worker (each drains: held calls are
answered with a retryable 504), respawns nothing more, waits for them all and exits 0 when they all exited
cleanly. **A SIGKILLed parent** leaves no orphan: each worker gets SIGTERM when its parent dies
(:mod:`ingress.process.parent_death`).

Forking is safe because the parent never starts a thread or an event loop: it waits for its children and
signals with ``sigwaitinfo``/``sigtimedwait`` (SIGCHLD, SIGTERM and SIGINT blocked, so none is missed between
two waits), and nothing connects until a worker's app starts.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ingress.process.parent_death import end_with_parent
from ingress.process.respawn_policy import STOP_SIGNALS, Action, RespawnPolicy, decide, exit_status
from ingress.process.shared_metrics import MetricsDir, SharedMetrics
from ingress.settings import IngressSettings

__all__ = ["run_workers"]

logger = logging.getLogger(__name__)

Serve = Callable[[IngressSettings, socket.socket, SharedMetrics], int]

_WATCHED = {signal.SIGCHLD, *STOP_SIGNALS}
"""The signals the parent waits for (blocked, and taken with ``sigwaitinfo``)."""


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


def run_workers(settings: IngressSettings, serve: Serve, policy: RespawnPolicy | None = None) -> int:
    """Fork ``settings.workers`` processes running ``serve``, each on its own socket, and supervise them until
    they are all stopped; the exit status is 0 when they all stopped cleanly."""
    sockets = _bind_group(settings, settings.workers)
    bound = settings.model_copy(update={"port": sockets[0].getsockname()[1]})  # a port 0 asked is now known
    unblocked = signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    try:
        with MetricsDir.fresh(bound.port) as metrics:
            return _Supervisor(bound, serve, policy or RespawnPolicy(), unblocked, metrics).run(sockets)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)


@dataclass(frozen=True)
class _Worker:
    slot: int
    started_at: float


class _Supervisor:
    """The parent's loop: fork, reap, respawn when due, forward a stop signal."""

    def __init__(
        self, settings: IngressSettings, serve: Serve, policy: RespawnPolicy, mask: set[int], metrics: MetricsDir
    ) -> None:
        self._settings = settings
        self._serve = serve
        self._policy = policy
        self._worker_mask = mask
        self._metrics = metrics
        self._running: dict[int, _Worker] = {}
        self._fast_failures = dict.fromkeys(range(settings.workers), 0)
        self._due: dict[int, float] = {}
        """Slot -> when (``time.monotonic``) its replacement is forked."""
        self._left: list[int] = []
        """The exit codes of the workers that ended for good."""
        self._stopping = False
        self._gave_up = False

    def run(self, sockets: list[socket.socket]) -> int:
        for slot, sock in enumerate(sockets):
            self._fork(slot, sock, [other for other in sockets if other is not sock])
        for sock in sockets:
            sock.close()
        while self._running or self._due:
            self._wait()
            self._reap()
            self._respawn_due()
        return 1 if self._gave_up else exit_status(self._left)

    def _fork(self, slot: int, sock: socket.socket, others: list[socket.socket]) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: its own socket only, the parent's signals back, ended with its parent
            code = 1
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, self._worker_mask)
                end_with_parent(parent)
                for other in others:
                    other.close()
                code = self._serve(self._settings, sock, self._metrics.join())
            except Exception:
                logger.exception("ingress worker failed", extra={"slot": slot})
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self._running[pid] = _Worker(slot, time.monotonic())
        logger.info("ingress worker started", extra={"pid": pid, "slot": slot})

    def _wait(self) -> None:
        """Until a watched signal arrives or the next respawn is due; a stop signal is forwarded."""
        if not self._running and not self._due:
            return
        if self._due:
            timeout = max(0.0, min(self._due.values()) - time.monotonic())
            info = signal.sigtimedwait(_WATCHED, timeout)
        else:
            info = signal.sigwaitinfo(_WATCHED)
        if info is not None and info.si_signo in STOP_SIGNALS:
            self._stop(signal.Signals(info.si_signo))

    def _stop(self, signum: signal.Signals) -> None:
        self._stopping = True
        self._due.clear()
        logger.info("ingress stopping its workers", extra={"signal": signum.name, "workers": len(self._running)})
        for pid in self._running:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _reap(self) -> None:
        while self._running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            worker = self._running.pop(pid)
            self._metrics.forget(pid)
            self._ended(worker.slot, os.waitstatus_to_exitcode(status), time.monotonic() - worker.started_at, pid)

    def _ended(self, slot: int, code: int, lived_s: float, pid: int | None) -> None:
        """Act on the end of slot ``slot``'s worker (``pid`` None: its replacement could not even be bound)."""
        decision = decide(self._policy, code, lived_s, self._fast_failures[slot], stopping=self._stopping)
        self._fast_failures[slot] = decision.fast_failures
        fields = {
            "pid": pid,
            "slot": slot,
            "status": f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}",
            "lived_s": round(lived_s, 3),
            "action": decision.action.value,
            "fast_failures": decision.fast_failures,
        }
        if decision.action is Action.LEAVE:
            logger.info("ingress worker exited", extra=fields)
            self._left.append(code)
        elif decision.action is Action.RESPAWN:
            logger.warning("ingress worker died: respawning", extra={**fields, "delay_s": decision.delay_seconds})
            self._due[slot] = time.monotonic() + decision.delay_seconds
        else:
            logger.error("ingress worker keeps dying at start: giving up", extra=fields)
            self._gave_up = True
            self._stop(signal.SIGTERM)

    def _respawn_due(self) -> None:
        now = time.monotonic()
        for slot, due_at in sorted(self._due.items()):
            if due_at > now:
                continue
            del self._due[slot]
            try:
                (sock,) = _bind_group(self._settings, 1)
            except OSError:
                logger.exception("ingress worker's socket could not be bound", extra={"slot": slot})
                self._ended(slot, 1, 0.0, None)
                continue
            try:
                self._fork(slot, sock, [])
            finally:
                sock.close()
