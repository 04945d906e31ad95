"""The fault benchmarks' seeded schedule: the same seed replays the same moments, each mid-run."""

from __future__ import annotations

import pytest

from bench.schedule import Fault, schedule_faults

KILLS = ["kill -9 collator", "kill -9 resolver", "kill -9 ingress"]


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    first = schedule_faults("16", KILLS, 60.0)
    assert schedule_faults("16", KILLS, 60.0) == first
    assert schedule_faults("17", KILLS, 60.0) != first


def test_each_kind_happens_once_in_order_between_a_fifth_and_seven_tenths_of_the_run() -> None:
    faults = schedule_faults("16", KILLS, 60.0)
    assert sorted(f.kind for f in faults) == sorted(KILLS)
    assert [f.at_s for f in faults] == sorted(f.at_s for f in faults)
    assert all(12.0 <= f.at_s <= 42.0 for f in faults)


def test_a_window_of_one_moment_puts_every_fault_there() -> None:
    assert schedule_faults("16", ["broker restart"], 10.0, earliest=0.5, latest=0.5) == [Fault("broker restart", 5.0)]


def test_a_window_outside_the_run_is_refused() -> None:
    with pytest.raises(ValueError, match="earliest"):
        schedule_faults("16", KILLS, 10.0, earliest=0.8, latest=0.2)
