"""The error replies for requests that could not be submitted (pure: no broker): what the collator records
when it gives up, answered as the resolver answers it."""

from __future__ import annotations

from batchgpt.upstream import UpstreamError, UpstreamRejected, UpstreamTransient
from collator.pipeline import submission_failure
from resolver.isolation import blame_lines
from resolver.results import Outcome
from resolver.verdicts import failed_batch_verdict
from schemas.status import ReplyStatus


def failure_reply(error: UpstreamError, *, line_no: int = 0) -> Outcome:
    """The reply a member gets: the collator records the give-up, the resolver answers from the record."""
    blame = blame_lines([submission_failure(error).to_error()], line_count=8)
    verdict = failed_batch_verdict(blame, line_no=line_no, attempt=0, max_resubmits=3)
    assert isinstance(verdict, Outcome)
    return verdict


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
