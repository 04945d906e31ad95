"""``Batchgpt-Deadline``: a positive number of seconds, else a 400 naming the header (pure)."""

from __future__ import annotations

import pytest

from ingress.errors import InvalidRequest
from ingress.http.deadline import deadline_seconds


def test_a_positive_number_of_seconds_is_the_deadline() -> None:
    assert deadline_seconds(None) is None
    assert deadline_seconds("30") == 30.0
    assert deadline_seconds(" 0.5 ") == 0.5


@pytest.mark.parametrize("raw", ["", "soon", "0", "-1", "nan", "inf", "1e9"])
def test_anything_else_is_a_400_naming_the_header(raw: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        deadline_seconds(raw)
    assert refused.value.status_code == 400 and refused.value.param == "Batchgpt-Deadline"
