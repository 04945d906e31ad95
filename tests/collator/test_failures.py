"""The error replies for requests that could not be submitted (pure: no broker)."""

from __future__ import annotations

from batchgpt.upstream import UpstreamRejected, UpstreamTransient
from collator.failures import failure_reply
from schemas.messages import RequestMessage
from schemas.status import ReplyStatus


def _request() -> RequestMessage:
    return RequestMessage(request_id="req_x", body={"model": "m", "messages": []}, tenant="t1")


def test_unavailable_upstream_gives_503_upstream_unavailable_and_429_stays_429():
    reply = failure_reply(_request(), batch_id="bg_1", error=UpstreamTransient("x", status=502), now=5.0)
    assert reply.status == ReplyStatus.FAILED and reply.status_code == 503
    assert reply.body["error"]["code"] == "upstream_unavailable"
    assert reply.batch_id == "bg_1" and reply.tenant == "t1" and reply.completed_at == 5.0
    limited = failure_reply(_request(), batch_id="bg_1", error=UpstreamTransient("x", status=429), now=5.0)
    assert limited.status_code == 429 and limited.body["error"]["type"] == "tokens"


def test_rejection_keeps_the_upstream_status_and_code():
    error = UpstreamRejected("bad", status=400, body={"message": "Bad file", "type": "invalid_request_error",
                                                      "param": "file", "code": "invalid_file"})
    reply = failure_reply(_request(), batch_id="bg_1", error=error, now=1.0)
    assert reply.status_code == 400
    assert reply.body["error"]["code"] == "invalid_file" and reply.body["error"]["param"] == "file"
