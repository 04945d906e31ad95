"""The fault benchmarks' figures: nearest-rank percentiles and each fault's recovery."""

from __future__ import annotations

import math

import pytest

from bench.figures import CallTiming, Window, percentile, recovery_s


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 1) == 7.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


def test_a_percentile_of_nothing_is_nan_and_an_impossible_one_is_refused() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_recovery_is_until_the_last_call_in_flight_during_the_fault_ended() -> None:
    fault = Window(start=10.0, end=14.0)
    calls = [
        CallTiming(sent_at=1.0, ended_at=9.0),  # done before the fault: not caught
        CallTiming(sent_at=8.0, ended_at=30.0),  # in flight at the fault
        CallTiming(sent_at=12.0, ended_at=25.0),  # sent while the service was down
        CallTiming(sent_at=15.0, ended_at=50.0),  # sent after it was back: not caught
    ]
    assert recovery_s(fault, calls) == 20.0


def test_a_caught_call_that_never_ended_means_no_recovery_and_none_caught_means_zero() -> None:
    fault = Window(start=10.0, end=10.0)
    assert recovery_s(fault, [CallTiming(5.0, None)]) is None
    assert recovery_s(fault, [CallTiming(11.0, None)]) == 0.0
