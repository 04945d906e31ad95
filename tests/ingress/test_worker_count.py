"""``BATCHGPT_INGRESS_WORKERS``: ``auto`` (the default) is one worker per usable core, at most 8; a number still
works; anything else stops the start with the variable named."""

from __future__ import annotations

import os

import pytest

from batchgpt.settings import SettingsError, load_settings
from ingress.process.worker_count import MAX_AUTO_WORKERS, auto_worker_count, usable_cores
from ingress.settings import IngressSettings


def _workers(environ: dict[str, str]) -> int:
    return load_settings(IngressSettings, environ).workers


def test_auto_is_one_worker_per_usable_core_capped_and_never_zero() -> None:
    assert auto_worker_count(1) == 1
    assert auto_worker_count(2) == 2
    assert auto_worker_count(6) == 6
    assert auto_worker_count(64) == MAX_AUTO_WORKERS == 8
    assert auto_worker_count(None) == 1  # the core count unknown
    assert auto_worker_count(0) == 1


def test_usable_cores_are_this_process_s_affinity() -> None:
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_the_default_is_auto_and_auto_is_read_in_any_case() -> None:
    expected = auto_worker_count(len(os.sched_getaffinity(0)))
    assert _workers({}) == expected
    assert _workers({"BATCHGPT_INGRESS_WORKERS": "auto"}) == expected
    assert _workers({"BATCHGPT_INGRESS_WORKERS": " AUTO "}) == expected
    assert _workers({"BATCHGPT_INGRESS_WORKERS": ""}) == expected  # an empty variable is an unset one


def test_a_number_of_workers_is_taken_as_given_also_from_the_flag() -> None:
    assert _workers({"BATCHGPT_INGRESS_WORKERS": "1"}) == 1
    assert _workers({"BATCHGPT_INGRESS_WORKERS": "12"}) == 12  # above the cap of auto: an operator's choice
    assert load_settings(IngressSettings, {}, workers="3").workers == 3  # --workers 3
    assert load_settings(IngressSettings, {}, workers="auto").workers == _workers({})  # --workers auto


@pytest.mark.parametrize("value", ["lots", "two", "2.5", "-1", "0", "65"])
def test_a_bad_worker_count_is_a_start_up_error_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="BATCHGPT_INGRESS_WORKERS"):
        _workers({"BATCHGPT_INGRESS_WORKERS": value})
