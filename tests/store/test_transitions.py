"""The transition tables in ``schemas.transitions`` (pure: no database)."""

from __future__ import annotations

from schemas.status import BatchStatus, RequestState
from schemas.transitions import (
    BATCH_TRANSITIONS,
    REQUEST_TRANSITIONS,
    batch_sources,
    may_move_batch,
    may_move_request,
    request_sources,
)

Q, S, P, C, F = (RequestState.QUEUED, RequestState.SUBMITTED, RequestState.IN_PROGRESS, RequestState.COMPLETED,
                 RequestState.FAILED)


def test_every_state_and_status_has_a_row() -> None:
    assert set(REQUEST_TRANSITIONS) == set(RequestState)
    assert set(BATCH_TRANSITIONS) == set(BatchStatus)


def test_final_request_states_never_move() -> None:
    for final in (C, F):
        assert final.is_final
        assert all(not may_move_request(final, target) for target in RequestState)


def test_requests_move_forward_and_back_to_queued_only_for_a_resubmission() -> None:
    assert may_move_request(Q, S) and may_move_request(S, P) and may_move_request(P, C) and may_move_request(Q, F)
    assert may_move_request(S, Q) and may_move_request(P, Q)  # resubmitted with attempt + 1
    assert may_move_request(P, S)  # a resubmitted request follows its newest batch
    assert all(not may_move_request(state, state) for state in RequestState)  # a write that changes nothing


def test_request_sources_are_the_guards_the_store_uses() -> None:
    assert request_sources(S) == ("in_progress", "queued")
    assert request_sources(P) == ("queued", "submitted")
    assert request_sources(C) == request_sources(F) == ("in_progress", "queued", "submitted")
    assert request_sources(Q) == ("in_progress", "submitted")


def test_batches_never_go_back_to_pending_and_terminal_statuses_only_repeat() -> None:
    for status in BatchStatus:
        assert not may_move_batch(status, BatchStatus.PENDING)
    for terminal in (s for s in BatchStatus if s.is_terminal):
        assert BATCH_TRANSITIONS[terminal] == frozenset({terminal})
    assert may_move_batch(BatchStatus.PENDING, BatchStatus.COMPLETED)  # an adopted batch may already be done
    assert may_move_batch(BatchStatus.VALIDATING, BatchStatus.COMPLETED)  # polls can skip states
    assert not may_move_batch(BatchStatus.COMPLETED, BatchStatus.FAILED)


def test_batch_sources() -> None:
    assert batch_sources(BatchStatus.PENDING) == ()
    assert batch_sources(BatchStatus.CANCELLED) == tuple(sorted(
        s.value for s in BatchStatus if not s.is_terminal or s is BatchStatus.CANCELLED))
