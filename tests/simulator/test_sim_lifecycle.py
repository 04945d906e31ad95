"""Pure tests of the batch state machine: transitions by the clock, cancel, expiry, partial progress."""

from __future__ import annotations

from batchgpt.simulator.lifecycle import Schedule, evaluate, line_offsets


def _schedule(
    lines: int = 4, fails: bool = False, deadline: float = 1000.0, slow: list[int] | None = None
) -> Schedule:
    return Schedule(
        created_at=100.0,
        validated_at=101.0,
        fails_validation=fails,
        offsets=[] if fails else line_offsets(lines, slow or [], 4.0, 50.0),
        finalizing_seconds=1.0,
        cancelling_seconds=2.0,
        deadline=deadline,
    )


def test_offsets_spread_lines_and_delay_slow_ones() -> None:
    assert line_offsets(4, [], 4.0, 50.0) == [1.0, 2.0, 3.0, 4.0]
    assert line_offsets(3, [1], 4.0, 50.0) == [2.0, 50.0, 4.0]
    assert line_offsets(2, [], 0.0, 50.0) == [0.0, 0.0]


def test_happy_path() -> None:
    s = _schedule()
    assert evaluate(s, 100.5).status == "validating"
    running = evaluate(s, 103.0)
    assert running.status == "in_progress" and running.in_progress_at == 101.0 and running.done == [0, 1]
    assert evaluate(s, 105.5).status == "finalizing"
    done = evaluate(s, 106.0)
    assert (done.status, done.finalizing_at, done.completed_at, done.done) == (
        "completed",
        105.0,
        106.0,
        [0, 1, 2, 3],
    )
    assert done.terminal


def test_validation_failure() -> None:
    s = _schedule(fails=True)
    assert evaluate(s, 100.9).status == "validating"
    failed = evaluate(s, 101.0)
    assert (failed.status, failed.failed_at, failed.in_progress_at, failed.done) == (
        "failed",
        101.0,
        None,
        [],
    )


def test_expiry_keeps_finished_lines() -> None:
    s = _schedule(deadline=103.5)
    assert evaluate(s, 103.4).status == "in_progress"
    expired = evaluate(s, 200.0)
    assert (expired.status, expired.expired_at, expired.done) == ("expired", 103.5, [0, 1])
    assert expired.in_progress_at == 101.0 and expired.finalizing_at is None


def test_slow_line_makes_a_short_window_expire() -> None:
    s = _schedule(lines=3, slow=[0], deadline=120.0)
    expired = evaluate(s, 121.0)
    assert expired.status == "expired" and expired.done == [1, 2]


def test_expiry_during_validating() -> None:
    expired = evaluate(_schedule(deadline=100.5), 100.6)
    assert expired.status == "expired" and expired.in_progress_at is None and expired.done == []


def test_cancel_while_in_progress() -> None:
    s = _schedule()
    s.cancel_requested_at = 102.5
    cancelling = evaluate(s, 103.0)
    assert (cancelling.status, cancelling.cancelling_at, cancelling.done) == ("cancelling", 102.5, [0])
    cancelled = evaluate(s, 104.5)
    assert (cancelled.status, cancelled.cancelled_at, cancelled.done) == ("cancelled", 104.5, [0])
    s.cancel_drained_at = 103.0
    assert evaluate(s, 103.0).status == "cancelled"


def test_cancel_while_validating_runs_nothing() -> None:
    s = _schedule(fails=True)
    s.cancel_requested_at = 100.5
    cancelled = evaluate(s, 110.0)
    assert cancelled.status == "cancelled" and cancelled.in_progress_at is None and cancelled.done == []


def test_cancel_after_completion_is_ignored() -> None:
    s = _schedule()
    s.cancel_requested_at = 500.0
    assert evaluate(s, 600.0).status == "completed"
