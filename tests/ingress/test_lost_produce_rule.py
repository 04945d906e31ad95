"""The lost-produce rule, without a broker or a database: when a re-attached request counts as possibly never
produced (produce it again), and how long a watch over a young one waits before it looks again."""

from __future__ import annotations

import pytest

from ingress.admission.lost_produce import LOST_PRODUCE_AFTER_SECONDS, check_delay, lost_after, may_be_lost
from schemas.status import RequestState

QUEUED, SUBMITTED, FAILED = RequestState.QUEUED.value, RequestState.SUBMITTED.value, RequestState.FAILED.value


def test_the_first_produce_is_over_after_two_seconds_or_the_producers_timeout_when_shorter() -> None:
    assert lost_after(30.0) == LOST_PRODUCE_AFTER_SECONDS == 2.0
    assert lost_after(0.5) == 0.5


@pytest.mark.parametrize(
    ("state", "batch_id", "has_result", "age", "lost"),
    [
        (QUEUED, None, False, 2.5, True),  # old enough, no batch, no result: produced and not batched yet, or lost
        (QUEUED, None, False, 60.0, True),
        (QUEUED, None, False, 2.0, False),  # its first produce may still be under way
        (QUEUED, None, False, 0.1, False),
        (QUEUED, "batch_1", False, 60.0, False),  # batched: it reached Kafka (a failed batch re-queues it)
        (SUBMITTED, "batch_1", False, 60.0, False),
        (RequestState.COMPLETED.value, "batch_1", True, 60.0, False),
        (QUEUED, None, True, 60.0, False),  # its result is stored (the row moves a moment later)
    ],
)
def test_a_request_may_be_lost_only_queued_without_a_batch_or_result_once_its_produce_is_over(
    state: str, batch_id: str | None, has_result: bool, age: float, lost: bool
) -> None:
    assert may_be_lost(state, batch_id, has_result=has_result, age_seconds=age, after_seconds=2.0) is lost


def test_a_young_unbatched_request_is_looked_at_again_once_old_enough() -> None:
    assert check_delay(QUEUED, None, age_seconds=0.5, after_seconds=2.0) == pytest.approx(1.5)
    assert check_delay(QUEUED, None, age_seconds=2.0, after_seconds=2.0) == 0.0


@pytest.mark.parametrize(
    ("state", "batch_id", "age"),
    [
        (QUEUED, None, 2.5),
        (QUEUED, "batch_1", 0.5),
        (SUBMITTED, "batch_1", 0.5),
        (RequestState.FAILED.value, None, 0.5),
    ],
    ids=["old-enough-to-judge-now", "batched", "submitted", "final"],
)
def test_nothing_to_wait_for(state: str, batch_id: str | None, age: float) -> None:
    assert check_delay(state, batch_id, age_seconds=age, after_seconds=2.0) is None
