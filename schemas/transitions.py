"""Which state changes are allowed: the request states the HTTP API reports, and a batch's status.

The store checks every state write against these tables (as the ``WHERE state IN (...)`` of its
UPDATE), so a late or repeated write can never move a row backwards or out of a final state.

Requests::

    queued ──► submitted ──► in_progress ──► completed | failed
      ▲  └──────────┴─────────────┴──────────► completed | failed
      └──────── submitted | in_progress  (the line is resubmitted with attempt + 1)

``in_progress → submitted`` is allowed: a resubmitted request follows its newest batch.
``completed`` and ``failed`` are final. No state moves to itself: a write that would change nothing
is not made (on PostgreSQL every rewritten row is one more row version for the fan-out's updates to
wade through; the direct producer's row the collator inserts as ``submitted`` is not rewritten).

Batches: ``pending`` (ours, not yet upstream) may become any upstream status (an adopted batch can
already be anywhere); an open upstream status may move to any status but ``pending`` (polls can skip
states); a terminal status only repeats itself (a poll re-reading counts and file ids).
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.status import BatchStatus, RequestState

__all__ = [
    "BATCH_TRANSITIONS",
    "REQUEST_TRANSITIONS",
    "batch_sources",
    "may_move_batch",
    "may_move_request",
    "request_sources",
]

_Q, _S, _P, _C, _F = (
    RequestState.QUEUED,
    RequestState.SUBMITTED,
    RequestState.IN_PROGRESS,
    RequestState.COMPLETED,
    RequestState.FAILED,
)

REQUEST_TRANSITIONS: Mapping[RequestState, frozenset[RequestState]] = {
    _Q: frozenset({_S, _P, _C, _F}),
    _S: frozenset({_P, _C, _F, _Q}),
    _P: frozenset({_S, _C, _F, _Q}),
    _C: frozenset(),
    _F: frozenset(),
}
"""request state -> the states it may move to."""

_UPSTREAM = frozenset(BatchStatus) - {BatchStatus.PENDING}

BATCH_TRANSITIONS: Mapping[BatchStatus, frozenset[BatchStatus]] = {
    status: (frozenset({status}) if status.is_terminal else _UPSTREAM) for status in BatchStatus
}
"""batch status -> the statuses it may move to."""


def may_move_request(current: RequestState, target: RequestState) -> bool:
    """Whether a request in ``current`` may be moved to ``target``."""
    return target in REQUEST_TRANSITIONS[current]


def may_move_batch(current: BatchStatus, target: BatchStatus) -> bool:
    """Whether a batch in ``current`` may be moved to ``target``."""
    return target in BATCH_TRANSITIONS[current]


def request_sources(target: RequestState) -> tuple[str, ...]:
    """The states a request may be in to be moved to ``target`` (sorted values, for a SQL ``IN``)."""
    return tuple(sorted(state.value for state, nexts in REQUEST_TRANSITIONS.items() if target in nexts))


def batch_sources(target: BatchStatus) -> tuple[str, ...]:
    """The statuses a batch may be in to be moved to ``target`` (sorted values, for a SQL ``IN``)."""
    return tuple(sorted(status.value for status, nexts in BATCH_TRANSITIONS.items() if target in nexts))
