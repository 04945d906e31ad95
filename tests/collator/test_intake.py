"""Pure intake: every raw record becomes a request or a dead letter with a reason (no broker)."""

from __future__ import annotations

import base64
import json

from collator.intake import RawRecord, sort_window
from schemas.codec import encode
from schemas.messages import RequestMessage


def _rec(value: bytes | None, key: bytes | None = b"k", offset: int = 0) -> RawRecord:
    return RawRecord(topic="p.requests", partition=1, offset=offset, key=key, value=value)


def test_valid_messages_decode_and_direct_producer_defaults_apply():
    minimal = json.dumps({"request_id": "req_direct", "body": {"model": "gpt-4o", "messages": []}}).encode()
    window = sort_window([_rec(minimal)])
    [request] = window.requests
    assert request.request_id == "req_direct" and request.tenant == "default" and request.attempt == 0
    assert window.dead_letters == ()


def test_each_kind_of_poison_gets_its_reason_and_keeps_its_origin():
    records = [
        _rec(b"{nope", key=b"a", offset=1),
        _rec(b'"a string"', key=b"b", offset=2),
        _rec(json.dumps({"request_id": "r", "body": {"messages": []}}).encode(), key=b"c", offset=3),
        _rec(json.dumps({"request_id": "r", "endpoint": "/v1/nope", "body": {"model": "m"}}).encode(), key=b"d",
             offset=4),
        _rec(b"\x80\x81", key=None, offset=5),
        _rec(None, key=b"f", offset=6),
    ]
    window = sort_window(records)
    assert window.requests == ()
    reasons = [(d.key, d.reason, d.offset) for d in window.dead_letters]
    assert reasons == [("a", "not_json", 1), ("b", "invalid_shape", 2), ("c", "invalid_shape", 3),
                       ("d", "unknown_endpoint", 4), (None, "not_json", 5), ("f", "not_json", 6)]
    binary = window.dead_letters[4]
    assert binary.value_encoding == "base64" and base64.b64decode(binary.value) == b"\x80\x81"
    assert all(d.source_topic == "p.requests" and d.partition == 1 for d in window.dead_letters)


def test_a_request_repeated_in_one_window_is_kept_once():
    message = RequestMessage(request_id="req_1", body={"model": "m", "messages": []})
    retry = message.model_copy(update={"attempt": 1})
    window = sort_window([_rec(encode(message), offset=1), _rec(encode(message), offset=2),
                          _rec(encode(retry), offset=3)])
    assert [(r.request_id, r.attempt) for r in window.requests] == [("req_1", 0), ("req_1", 1)]
    assert window.duplicates == 1
    assert window.sources[("req_1", 0)].offset == 1
