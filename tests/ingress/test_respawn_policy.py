"""The ingress parent's respawn decision, without processes: respawn, leave, back off, give up; its exit status."""

from __future__ import annotations

import signal

from ingress.process.respawn_policy import Action, Decision, RespawnPolicy, decide, exit_status

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
