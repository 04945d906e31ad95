"""The ingress parent's respawn decision (pure: respawn, leave, back off, give up; its exit status), and the
supervisor acting on it with forked workers that end at once (no broker, no app), and the metrics directory
it makes for them."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from ingress.process.respawn_policy import Action, Decision, RespawnPolicy, decide, exit_status
from ingress.process.shared_metrics import SharedMetrics
from ingress.process.workers import run_workers
from ingress.settings import IngressSettings

POLICY = RespawnPolicy(fast_seconds=10.0, first_delay_seconds=0.5, max_delay_seconds=3.0, max_fast_failures=6)
KILLED = -signal.SIGKILL


def test_a_worker_that_dies_after_running_a_while_is_respawned_at_once() -> None:
    assert decide(POLICY, KILLED, 60.0, 0, stopping=False) == Decision(Action.RESPAWN, 0.0, 0)
    assert decide(POLICY, 1, 10.0, 0, stopping=False) == Decision(Action.RESPAWN, 0.0, 0)
    # a long life resets the slot's fast failures
    assert decide(POLICY, KILLED, 11.0, 4, stopping=False) == Decision(Action.RESPAWN, 0.0, 0)


def test_a_worker_that_stopped_cleanly_or_while_the_parent_stops_is_left() -> None:
    assert decide(POLICY, 0, 0.1, 2, stopping=False) == Decision(Action.LEAVE, 0.0, 2)
    assert decide(POLICY, KILLED, 0.1, 0, stopping=True).action is Action.LEAVE
    assert decide(POLICY, 1, 60.0, 0, stopping=True).action is Action.LEAVE


def test_fast_failures_in_a_row_back_off_exponentially_up_to_the_cap_then_give_up() -> None:
    delays = []
    failures = 0
    while True:
        decision = decide(POLICY, 1, 0.2, failures, stopping=False)
        failures = decision.fast_failures
        if decision.action is not Action.RESPAWN:
            break
        delays.append(decision.delay_seconds)
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert decision == Decision(Action.GIVE_UP, 0.0, 6)


def test_the_default_policy_gives_up_on_the_fifth_fast_failure_in_a_row() -> None:
    policy = RespawnPolicy()
    assert decide(policy, KILLED, 9.9, 3, stopping=False) == Decision(Action.RESPAWN, 4.0, 4)
    assert decide(policy, KILLED, 9.9, 4, stopping=False).action is Action.GIVE_UP


def test_exit_status_is_zero_only_when_every_worker_stopped_cleanly() -> None:
    assert exit_status([]) == 0
    assert exit_status([0, 0]) == 0
    assert exit_status([0, -signal.SIGTERM]) == 0  # the forwarded stop signal came before the worker's handler
    assert exit_status([0, 3]) == 3
    assert exit_status([-signal.SIGKILL, 0]) == 128 + signal.SIGKILL


def _ports_served(workers: int, code: int, policy: RespawnPolicy) -> tuple[int, list[int], list[Path]]:
    """Run the supervisor with workers whose ``serve`` exits with ``code`` at once: its exit status, the port
    each forked worker was given and the metrics directory it joined (one line per fork, through a pipe)."""
    read_end, write_end = os.pipe()

    def serve(_settings: IngressSettings, sock: socket.socket, metrics: SharedMetrics) -> int:
        os.write(write_end, f"{sock.getsockname()[1]} {metrics.path}\n".encode())
        return code

    settings = IngressSettings.model_validate({"host": "127.0.0.1", "port": 0, "workers": workers, "api_keys": "k"})
    status = run_workers(settings, serve, policy)
    os.close(write_end)
    with os.fdopen(read_end) as lines:
        forks = [line.split(" ", 1) for line in lines.read().splitlines()]
    return status, [int(port) for port, _ in forks], [Path(path) for _, path in forks]


def test_a_worker_failing_at_start_is_respawned_on_the_same_port_until_the_parent_gives_up() -> None:
    policy = RespawnPolicy(fast_seconds=10.0, first_delay_seconds=0.01, max_delay_seconds=0.02, max_fast_failures=3)
    status, ports, _dirs = _ports_served(1, 3, policy)
    assert status == 1
    assert len(ports) == 3 and len(set(ports)) == 1  # forked 3 times, each time on the same port


def test_workers_that_exit_cleanly_are_not_respawned_and_the_parent_exits_0() -> None:
    status, ports, _dirs = _ports_served(2, 0, RespawnPolicy())
    assert status == 0
    assert len(ports) == 2 and len(set(ports)) == 1


def test_the_workers_of_a_run_share_a_fresh_metrics_directory_that_the_parent_removes_at_exit() -> None:
    _status, ports, dirs = _ports_served(2, 0, RespawnPolicy())
    [directory] = set(dirs)  # the same for both workers
    assert directory.name.startswith(f"batchgpt-ingress-{ports[0]}-{os.getpid()}-metrics-")
    assert not directory.exists()
    _status, _ports, later = _ports_served(2, 0, RespawnPolicy())
    assert set(later) != {directory}  # each run its own
