"""schemas/: the topic messages, their JSON Schemas, and the rule that schemas imports no I/O library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import schemas
from schemas import (
    BatchEvent,
    BatchEventKind,
    BatchStatus,
    DeadLetter,
    DecodeError,
    Endpoint,
    ReplyMessage,
    ReplyStatus,
    RequestMessage,
    TopicNames,
    decode,
    encode,
)
from schemas.jsonschema_export import SCHEMA_DIR, render_all


def test_public_surface() -> None:
    assert set(schemas.__all__) == {
        "CONTENT_TYPE", "DEFAULT_TOPIC_PREFIX", "HEADER_CONTENT_TYPE", "HEADER_SCHEMA_VERSION", "SCHEMA_VERSION",
        "TERMINAL_BATCH_STATUSES", "BatchEvent", "BatchEventKind", "BatchStatus", "DeadLetter", "DecodeError",
        "Endpoint", "ReplyMessage", "ReplyStatus", "ReplyTo", "RequestCounts", "RequestMessage", "RequestState",
        "TokenUsage", "TopicNames", "WebhookEvent", "decode", "encode",
    }  # fmt: skip


def test_schemas_imports_no_io_library() -> None:
    code = (
        "import sys, schemas, schemas.jsonschema_export\n"
        "bad = [m for m in ('confluent_kafka','faust','aiokafka','openai','fastapi','httpx','sqlalchemy',"
        "'psycopg','sqlite3') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_topic_names_follow_the_prefix() -> None:
    assert TopicNames().all() == (
        "batchgpt.requests",
        "batchgpt.replies",
        "batchgpt.batches",
        "batchgpt.dead-letter",
        "batchgpt.webhooks",
    )
    assert TopicNames("x.").requests == "x.requests"


def test_direct_producer_minimal_request_gets_defaults() -> None:
    msg = decode(RequestMessage, b'{"request_id": "r1", "body": {"model": "gpt-4o-mini", "messages": []}}')
    assert msg.v == 1
    assert msg.endpoint is Endpoint.CHAT_COMPLETIONS
    assert msg.tenant == "default"
    assert msg.reply_to is None
    assert msg.attempt == 0
    assert msg.received_at > 0
    assert msg.model == "gpt-4o-mini"


def test_unknown_fields_are_tolerated_and_body_is_untouched() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0, "x_custom": {"a": [1]}}
    raw = json.dumps({"request_id": "r2", "body": body, "future_field": 42, "v": 1}).encode()
    msg = decode(RequestMessage, raw)
    assert msg.body == body
    again = decode(RequestMessage, encode(msg))
    assert again == msg
    assert again.body["temperature"] == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b"[1,2]", "invalid_shape"),
        (b'{"body": {"model": "m"}}', "invalid_shape"),
        (b'{"request_id": "r", "body": {"messages": []}}', "invalid_shape"),
        (b'{"request_id": "r", "body": {"model": "m"}, "endpoint": "/v1/images"}', "unknown_endpoint"),
        (None, "not_json"),
    ],
)
def test_bad_request_values_raise_decode_error_with_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(RequestMessage, raw)
    assert info.value.reason == reason


def test_reply_batch_event_and_dead_letter_round_trip() -> None:
    reply = ReplyMessage(
        request_id="r1", status=ReplyStatus.COMPLETED, status_code=200, body={"id": "chatcmpl-1"}, batch_id="b1"
    )
    assert decode(ReplyMessage, encode(reply)) == reply
    event = BatchEvent(batch_id="b1", kind=BatchEventKind.TERMINAL, status=BatchStatus.COMPLETED)
    assert decode(BatchEvent, encode(event)).status.is_terminal
    dead = DeadLetter(reason="not_json", error="x", source_topic="t", partition=0, offset=3, value="abc")
    assert decode(DeadLetter, encode(dead)) == dead


def test_json_schema_files_match_the_models() -> None:
    """Fails when schemas/ changed without `python -m schemas.jsonschema_export` being re-run."""
    rendered = render_all()
    on_disk = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert on_disk == rendered, "JSON Schemas drifted: run `python -m schemas.jsonschema_export`"


def test_json_schemas_describe_the_contract_fields() -> None:
    requests = json.loads((SCHEMA_DIR / "requests.json").read_text())
    assert set(requests["required"]) == {"request_id", "body"}
    assert {"v", "request_id", "endpoint", "body", "tenant", "reply_to", "received_at", "attempt"} <= set(
        requests["properties"]
    )
    replies = json.loads((SCHEMA_DIR / "replies.json").read_text())
    assert {"v", "request_id", "status", "status_code", "body", "batch_id", "upstream_batch_id", "completed_at"} <= set(
        replies["properties"]
    )
