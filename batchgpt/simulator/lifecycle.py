"""The batch state machine as a pure function of a schedule and the clock.

A batch's whole future is fixed when it is created (``Schedule``); only a cancel, a forced expiry or
a forced end of cancelling change it later. ``evaluate(schedule, now)`` says where the batch is at
``now``: its status, the transition timestamps so far, and which lines have finished. Reading state
is therefore deterministic, and every read path can "advance" a batch just by evaluating it.

::

    validating ─► in_progress ─► finalizing ─► completed
        │              └──────► expired (deadline passed; lines done so far are kept)
        ├─► failed (validation)
        └─► cancelling (also from in_progress/finalizing) ─► cancelled
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TERMINAL", "Schedule", "Snapshot", "evaluate", "line_offsets"]

TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
_EPSILON_SECONDS = 1e-6  # absorbs float rounding when a deadline falls exactly on a line's finish time


def line_offsets(
    line_count: int, slow: list[int], in_progress_seconds: float, slow_line_seconds: float
) -> list[float]:
    """Seconds after ``in_progress`` starts at which each line finishes, in input order.

    Ordinary lines finish evenly spread over ``in_progress_seconds``; the lines listed in ``slow``
    finish after ``max(in_progress_seconds, slow_line_seconds)``.
    """
    slow_set = set(slow)
    fast_total = line_count - len(slow_set)
    offsets: list[float] = []
    fast_seen = 0
    for index in range(line_count):
        if index in slow_set:
            offsets.append(max(in_progress_seconds, slow_line_seconds))
        else:
            fast_seen += 1
            offsets.append(in_progress_seconds * fast_seen / fast_total)
    return offsets


@dataclass
class Schedule:
    """Everything that decides a batch's course, in Unix seconds."""

    created_at: float
    validated_at: float
    """End of ``validating``: the batch then fails (``fails_validation``) or goes ``in_progress``."""
    fails_validation: bool
    offsets: list[float]
    """Per line (input order): seconds after ``validated_at`` at which it finishes."""
    finalizing_seconds: float
    cancelling_seconds: float
    deadline: float
    """When the batch expires if it has not reached ``finalizing`` (created_at + window, or forced)."""
    cancel_requested_at: float | None = None
    cancel_drained_at: float | None = None

    @property
    def run_end(self) -> float:
        """When the last line finishes (start of ``finalizing``)."""
        return self.validated_at + (max(self.offsets) if self.offsets else 0.0)

    @property
    def natural_end(self) -> float:
        """When the batch leaves validating/in_progress without a cancel or an expiry."""
        return self.validated_at if self.fails_validation else self.run_end

    @property
    def expires(self) -> bool:
        """Whether the deadline falls before the batch could finish processing."""
        return self.deadline < self.natural_end

    @property
    def completed_at(self) -> float:
        """When the batch completes if nothing intervenes."""
        return self.run_end + self.finalizing_seconds

    def cancel_effective(self) -> bool:
        """Whether the requested cancel happens before the batch ends on its own."""
        if self.cancel_requested_at is None:
            return False
        if self.fails_validation:
            end = self.validated_at
        elif self.expires:
            end = self.deadline
        else:
            end = self.completed_at
        return self.cancel_requested_at < end


@dataclass
class Snapshot:
    """Where a batch is at one instant."""

    status: str
    in_progress_at: float | None = None
    finalizing_at: float | None = None
    completed_at: float | None = None
    failed_at: float | None = None
    expired_at: float | None = None
    cancelling_at: float | None = None
    cancelled_at: float | None = None
    done: list[int] = field(default_factory=list)
    """Indices (input order) of the lines finished by now (or by the time processing stopped)."""

    @property
    def terminal(self) -> bool:
        """Whether the status is final."""
        return self.status in TERMINAL


def _done(schedule: Schedule, until: float) -> list[int]:
    if until < schedule.validated_at or schedule.fails_validation:
        return []
    elapsed = until - schedule.validated_at + _EPSILON_SECONDS
    return [index for index, offset in enumerate(schedule.offsets) if offset <= elapsed]


def evaluate(schedule: Schedule, now: float) -> Snapshot:
    """The batch's status, timestamps and finished lines at ``now``."""
    s = schedule
    if s.cancel_effective() and s.cancel_requested_at is not None and now >= s.cancel_requested_at:
        cancel_at = s.cancel_requested_at
        end = s.cancel_drained_at if s.cancel_drained_at is not None else cancel_at + s.cancelling_seconds
        snap = Snapshot(status="cancelled" if now >= end else "cancelling", cancelling_at=cancel_at)
        if not s.fails_validation and cancel_at >= s.validated_at:
            snap.in_progress_at = s.validated_at
            if cancel_at >= s.run_end:
                snap.finalizing_at = s.run_end
        if snap.status == "cancelled":
            snap.cancelled_at = end
        snap.done = _done(s, min(now, cancel_at))
        return snap
    if s.expires and now >= s.deadline:
        snap = Snapshot(status="expired", expired_at=s.deadline, done=_done(s, s.deadline))
        if not s.fails_validation and s.deadline >= s.validated_at:
            snap.in_progress_at = s.validated_at
        return snap
    if now < s.validated_at:
        return Snapshot(status="validating")
    if s.fails_validation:
        return Snapshot(status="failed", failed_at=s.validated_at)
    snap = Snapshot(status="in_progress", in_progress_at=s.validated_at, done=_done(s, now))
    if now >= s.run_end:
        snap.status = "finalizing"
        snap.finalizing_at = s.run_end
    if now >= s.completed_at:
        snap.status = "completed"
        snap.completed_at = s.completed_at
    return snap
