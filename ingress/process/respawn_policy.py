"""What the ingress parent does when a worker process ends: respawn it (and how soon), leave it, or give up.

Pure: the supervisor (:mod:`ingress.process.workers`) feeds it the worker's exit status, how long the worker
lived and its slot's count of fast failures in a row, and acts on the answer.

* A worker that ends while the parent is stopping (SIGTERM/SIGINT forwarded) is **left**: never respawned.
* A worker that exits with status 0 on its own (someone sent it SIGTERM: it drained and stopped) is **left**.
* A worker that dies abnormally (killed by a signal, or a non-zero exit) is **respawned**: at once when it had
  lived at least ``fast_seconds``; otherwise it failed fast, and its slot's fast failures in a row back off
  exponentially (``first_delay_seconds`` doubled each time, at most ``max_delay_seconds``), so a worker that
  cannot start never turns into a fork bomb. The ``max_fast_failures``-th fast failure in a row **gives up**:
  the parent stops the other workers and exits non-zero (the service is broken; its own supervisor - systemd,
  Kubernetes - sees it fail). A worker that lived long enough resets its slot's count.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from enum import Enum

__all__ = ["STOP_SIGNALS", "Action", "Decision", "RespawnPolicy", "decide", "exit_status"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""The signals that stop the parent, which forwards them to its workers."""


class Action(Enum):
    """What to do about a worker that ended."""

    RESPAWN = "respawn"
    LEAVE = "leave"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class RespawnPolicy:
    """The crash-loop limits (the defaults are what ``batch-gpt ingress`` runs with; see the README)."""

    fast_seconds: float = 10.0
    """A worker that dies sooner than this after it was forked failed fast."""
    first_delay_seconds: float = 0.5
    """The wait before respawning after the first fast failure in a row; doubled for each further one."""
    max_delay_seconds: float = 30.0
    """The longest wait before a respawn."""
    max_fast_failures: int = 5
    """This many fast failures in a row of one worker slot: give up (exit non-zero)."""


@dataclass(frozen=True)
class Decision:
    """The verdict on one worker's end: the action, the wait before a respawn, the slot's new fast-failure count."""

    action: Action
    delay_seconds: float = 0.0
    fast_failures: int = 0


def decide(
    policy: RespawnPolicy, exit_code: int, lived_seconds: float, fast_failures: int, *, stopping: bool
) -> Decision:
    """The verdict on a worker that ended with ``exit_code`` (``os.waitstatus_to_exitcode``: negative for a
    signal) after ``lived_seconds``, its slot having failed fast ``fast_failures`` times in a row before."""
    if stopping or exit_code == 0:
        return Decision(Action.LEAVE, fast_failures=fast_failures)
    if lived_seconds >= policy.fast_seconds:
        return Decision(Action.RESPAWN)
    failures = fast_failures + 1
    if failures >= policy.max_fast_failures:
        return Decision(Action.GIVE_UP, fast_failures=failures)
    delay = min(policy.max_delay_seconds, policy.first_delay_seconds * 2 ** (failures - 1))
    return Decision(Action.RESPAWN, delay_seconds=delay, fast_failures=failures)


def exit_status(exit_codes: list[int]) -> int:
    """The parent's exit status from its workers' final ``exit_codes``: 0 when each exited cleanly (status 0,
    or killed by a stop signal the parent forwarded before the worker had set its own handler), else the
    first failure's, a death by signal as ``128 + signal`` (the shell's convention)."""
    for code in exit_codes:
        if code == 0 or -code in STOP_SIGNALS:
            continue
        return code if code > 0 else 128 - code
    return 0
