"""Pure retry delays, and the error replies for requests that could not be submitted (no broker): what the
collator records when it gives up, answered as the resolver answers it."""

from __future__ import annotations

import random
from email.utils import formatdate

from collator.backoff import parse_retry_after, retry_delay
from collator.errors import UpstreamError, UpstreamRejected, UpstreamTransient
from collator.pipeline import submission_failure
from resolver.results import Outcome
from resolver.verdicts import failed_batch_verdict
from schemas.status import ReplyStatus


def test_retry_after_is_read_from_ms_seconds_or_a_date():
    assert parse_retry_after({"Retry-After-Ms": "1500"}, now=0) == 1.5
    assert parse_retry_after({"retry-after": "7"}, now=0) == 7.0
    assert parse_retry_after({"retry-after": formatdate(1_000_030, usegmt=True)}, now=1_000_000) == 30.0
    assert parse_retry_after({"retry-after": "soon"}, now=0) is None
    assert parse_retry_after({}, now=0) is None


def test_retry_delay_doubles_with_jitter_caps_and_honours_retry_after():
    rng = random.Random(1)
    delays = [retry_delay(n, base_s=1.0, cap_s=10.0, rng=rng) for n in range(1, 7)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(2 ** (n - 1), 10.0)
        assert 0.75 * nominal <= delay <= nominal
    assert retry_delay(1, base_s=1.0, cap_s=10.0, retry_after_s=4.0) == 4.0
    assert retry_delay(1, base_s=1.0, cap_s=10.0, retry_after_s=400.0) == 10.0


def failure_reply(error: UpstreamError, *, line_no: int = 0) -> Outcome:
    """The reply a member gets: the collator records the give-up, the resolver answers from the record."""
    return failed_batch_verdict([submission_failure(error).to_error()], line_no=line_no)


def test_unavailable_upstream_gives_503_upstream_unavailable_and_429_stays_429():
    reply = failure_reply(UpstreamTransient("x", status=502))
    assert reply.status == ReplyStatus.FAILED and reply.status_code == 503
    assert reply.body["error"]["code"] == "upstream_unavailable"
    assert reply.body["error"]["type"] == "server_error" and "(x)" in reply.body["error"]["message"]
    assert failure_reply(UpstreamTransient("x", status=502), line_no=7) == reply  # the same for every member
    limited = failure_reply(UpstreamTransient("x", status=429))
    assert limited.status_code == 429 and limited.body["error"]["type"] == "tokens"
    assert limited.body["error"]["code"] == "upstream_rate_limited"
    assert failure_reply(UpstreamTransient("timed out")).status_code == 503


def test_rejection_keeps_the_upstream_status_and_code():
    error = UpstreamRejected("bad", status=400, body={"message": "Bad file", "type": "invalid_request_error",
                                                      "param": "file", "code": "invalid_file"})
    reply = failure_reply(error)
    assert reply.status_code == 400
    assert reply.body["error"]["code"] == "invalid_file" and reply.body["error"]["param"] == "file"
    assert reply.body["error"]["message"] == "The upstream Batch API rejected the batch: Bad file"
    bare = failure_reply(UpstreamRejected("batches.create: HTTP 404: nope", status=404))
    assert bare.status_code == 404 and bare.body["error"]["code"] == "upstream_rejected"
