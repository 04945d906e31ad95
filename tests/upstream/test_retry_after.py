"""``Retry-After`` is read once for every caller: ms, seconds or an HTTP date, any header case (pure)."""

from __future__ import annotations

from email.utils import formatdate

import httpx

from batchgpt.upstream import parse_retry_after


def test_retry_after_is_read_from_ms_seconds_or_a_date() -> None:
    assert parse_retry_after({"Retry-After-Ms": "1500"}, now=0) == 1.5
    assert parse_retry_after({"retry-after": "7"}, now=0) == 7.0
    assert parse_retry_after({"retry-after": formatdate(1_000_030, usegmt=True)}, now=1_000_000) == 30.0
    assert parse_retry_after({"retry-after": "soon"}, now=0) is None
    assert parse_retry_after({}, now=0) is None
    assert parse_retry_after(None) is None


def test_ms_wins_a_past_date_is_zero_and_response_headers_work_as_they_come() -> None:
    assert parse_retry_after({"retry-after": "1", "retry-after-ms": "50"}) == 0.05
    assert parse_retry_after({"retry-after-ms": "junk", "retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": formatdate(1_000_000, usegmt=True)}, now=1_000_030) == 0.0
    assert parse_retry_after({"retry-after": "-3"}) == 0.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
