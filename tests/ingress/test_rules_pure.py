"""The waiting, re-attach, cache and retry-hint rules as pure functions (no broker, no database)."""

from __future__ import annotations

import time

import pytest

from batchgpt.store.admission import Admission, Identical, choose
from batchgpt.store.records import RequestRow
from ingress.admission.cache_policy import is_deterministic, may_serve_stored
from ingress.errors import (
    AuthenticationFailed,
    MethodNotAllowed,
    PayloadTooLarge,
    ResultPending,
    ServiceUnavailable,
    TooManyPending,
)
from ingress.http.preferences import hold_limit, is_sdk_retry, wait_preference
from ingress.replies.retry_hints import retry_headers, should_retry

CHAT, EMBEDDINGS, MODERATIONS = "/v1/chat/completions", "/v1/embeddings", "/v1/moderations"


@pytest.mark.parametrize(
    ("max_wait", "read_timeout", "limit"),
    [
        (600.0, None, 598.0),  # no client timeout: BATCHGPT_MAX_WAIT_S less 2 s
        (600.0, "600.0", 598.0),  # the SDK's default read timeout
        (600.0, "3.0", 2.7),  # a short client timeout: a tenth of it as the margin
        (8.0, "3600", 7.2),  # the client would wait longer than the server holds
        (600.0, "soon", 598.0),
        (600.0, "-1", 598.0),
        (600.0, "inf", 598.0),
    ],
)
def test_the_hold_ends_before_the_client_gives_up(max_wait: float, read_timeout: str | None, limit: float) -> None:
    assert hold_limit(max_wait, read_timeout) == pytest.approx(limit)
    preference = wait_preference(None, max_wait, read_timeout=read_timeout)
    assert preference.wait_seconds == pytest.approx(limit) and not preference.asked_async


def test_a_prefer_wait_never_outlasts_the_client_and_asks_for_a_202() -> None:
    preference = wait_preference("wait=30", 600.0, read_timeout="10")
    assert preference.wait_seconds == pytest.approx(9.0) and preference.asked_async
    assert wait_preference("wait=0", 600.0).wait_seconds == 0.0


@pytest.mark.parametrize(("header", "retry"), [(None, False), ("0", False), ("1", True), ("2", True), ("x", False)])
def test_sdk_retries_are_told_by_the_retry_count(header: str | None, retry: bool) -> None:
    assert is_sdk_retry(header) is retry


@pytest.mark.parametrize(
    ("endpoint", "body", "deterministic"),
    [
        (CHAT, {"temperature": 0}, True),
        (CHAT, {"temperature": 0.0}, True),
        (CHAT, {"temperature": 1}, False),
        (CHAT, {}, False),  # OpenAI's default temperature samples
        (CHAT, {"temperature": False}, False),
        (EMBEDDINGS, {"input": "x"}, True),
        (MODERATIONS, {"input": "x"}, True),
    ],
)
def test_deterministic_requests(endpoint: str, body: dict[str, object], deterministic: bool) -> None:
    assert is_deterministic(endpoint, body) is deterministic


def test_cache_modes() -> None:
    sampled, greedy = {"temperature": 1}, {"temperature": 0}
    assert not may_serve_stored("deterministic", CHAT, sampled, bypass=False)
    assert may_serve_stored("deterministic", CHAT, greedy, bypass=False)
    assert may_serve_stored("deterministic", EMBEDDINGS, {}, bypass=False)
    assert may_serve_stored("on", CHAT, sampled, bypass=False)
    assert not may_serve_stored("off", EMBEDDINGS, greedy, bypass=False)
    assert not may_serve_stored("on", CHAT, greedy, bypass=True)  # Cache-Control: no-cache


@pytest.mark.parametrize(
    ("status", "code", "retry"),
    [
        (400, "context_length_exceeded", False),  # a line's own 4xx error
        (400, "missing_required_parameter", False),  # the line failed its batch's validation
        (404, "model_not_found", False),
        (409, "batch_cancelled", False),  # a user's cancel: never sent again
        (504, "batch_expired", True),
        (502, "missing_result", True),
        (502, "batch_failed", True),  # failed because of other lines
        (502, "batch_not_found", True),
        (429, "token_limit_exceeded", True),
        (429, "upstream_rate_limited", True),
        (503, "upstream_unavailable", True),
        (500, None, True),  # a line's own server error
        (429, "rate_limit_exceeded", True),
    ],
)
def test_retry_hint_per_outcome(status: int, code: str | None, retry: bool) -> None:
    assert should_retry(status, code) is retry
    headers = retry_headers(status, code, 7)
    assert headers["x-should-retry"] == ("true" if retry else "false")
    assert headers.get("retry-after") == ("7" if retry else None)


def test_ingress_errors_carry_the_hint_and_null_codes_where_openai_sends_null() -> None:
    for final in (
        MethodNotAllowed("m"),
        PayloadTooLarge("p"),
        AuthenticationFailed("no key"),
    ):
        assert final.headers() == {"x-should-retry": "false"}
        assert final.envelope()["error"]["code"] is None
    assert AuthenticationFailed("wrong key", code="invalid_api_key").envelope()["error"]["code"] == "invalid_api_key"
    assert TooManyPending("busy", retry_after_seconds=3).headers() == {"x-should-retry": "true", "retry-after": "3"}
    unavailable = ServiceUnavailable("down", retry_after_seconds=2)
    assert unavailable.headers()["x-should-retry"] == "true" and unavailable.envelope()["error"]["code"] is None
    pending = ResultPending("later", location="/v1/chat/completions/req_1", retry_after_seconds=5)
    assert pending.status_code == 504 and pending.envelope()["error"]["code"] == "result_pending"
    assert pending.headers() == {
        "x-should-retry": "true",
        "retry-after": "5",
        "location": "/v1/chat/completions/req_1",
    }
    assert MethodNotAllowed("m").reason == "method_not_allowed"


def _row(state: str, received_at: float) -> RequestRow:
    return RequestRow(f"req_{state}_{received_at}", "t", CHAT, "f" * 64, state, None, received_at)


def _admission(**flags: bool) -> Admission:
    now = time.time()
    return Admission("req_new", "t", CHAT, "m", "f" * 64, None, now, now - 3600, **flags)


def test_who_reuses_what() -> None:
    now = time.time()
    in_flight, done = _row("in_progress", now - 1), _row("completed", now - 5)
    both = Identical(newest=in_flight, completed=done)
    # a fresh call: the cache may serve the newest completed request (or one under way whose result the
    # caller's replica may have just delivered: the ingress checks it)
    assert choose(_admission(serve_stored=True), None, both) == _reuse(done, "cache")
    assert choose(_admission(serve_stored=True), None, Identical(in_flight, None)) == _reuse(in_flight, "cache")
    assert choose(_admission(serve_stored=False), None, both) is None  # a new sample
    # an SDK retry: the newest identical request, under way or finished (whatever it came to)
    assert choose(_admission(serve_stored=False, reattach=True), None, both) == _reuse(in_flight, "fingerprint")
    failed = _row("failed", now)
    assert choose(_admission(serve_stored=True, reattach=True), None, Identical(failed, done)).via == "fingerprint"
    assert choose(_admission(serve_stored=True), None, Identical(failed, None)) is None  # a failure is never cached
    # an Idempotency-Key wins; may_reuse=False looks at nothing
    assert choose(_admission(serve_stored=False), done, None) == _reuse(done, "idempotency_key")
    assert choose(_admission(serve_stored=True, may_reuse=False, reattach=True), done, both) is None
    # nothing older than the result TTL
    old = _row("completed", now - 7200)
    assert choose(_admission(serve_stored=True, reattach=True), None, Identical(old, old)) is None


def _reuse(row: RequestRow, via: str) -> object:
    from batchgpt.store.admission import Reuse

    return Reuse(row, via)
