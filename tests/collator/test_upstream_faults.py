"""Upstream faults at submission: retried without duplicates, or answered with an error after the limit."""

from __future__ import annotations

import json

from sqlalchemy import select

from batchgpt.simulator.testing import free_port
from batchgpt.store.tables import results
from schemas.codec import decode
from schemas.messages import ReplyMessage
from schemas.status import ReplyStatus
from tests.collator.harness import (
    batch_rows,
    chat_request,
    member_rows,
    produce,
    read_topic_async,
    reply_to,
    request_rows,
    wait_batches,
)


async def test_5xx_and_429_are_retried_without_duplicate_files_or_batches(
    run_collator, kafka_settings, db_engine, simulator
):
    simulator.inject(kind="http_error", route="files.create", status=500, count=2)
    simulator.inject(kind="http_error", route="batches.create", status=429, count=1, retry_after_seconds=0.2)
    simulator.inject(kind="http_error", route="batches.list", status=503, count=1)
    messages = [chat_request("gpt-4o-mini") for _ in range(5)]
    produce(kafka_settings, messages)
    async with run_collator(window_ms=800, submit_max_attempts=8) as collator:
        await wait_batches(db_engine, 1)
    stats = simulator.stats()
    assert stats["batches"] == 1
    assert stats["files_by_purpose"].get("batch") == 1
    assert stats["api_calls"]["files.create"] == 3
    assert stats["api_calls"]["batches.create"] == 2
    assert stats["retried_calls"] == 0  # the SDK's own retries are off: every retry is ours
    assert stats["custom_id_submissions"] == {m.request_id: 1 for m in messages}
    errors = collator.metrics.upstream_errors
    assert errors.labels(operation="files.create", kind="transient", status="500")._value.get() == 2
    assert errors.labels(operation="batches.create", kind="transient", status="429")._value.get() == 1


async def test_upstream_unavailable_past_the_limit_answers_each_request_with_an_error(
    run_collator, run_resolver, kafka_settings, db_engine, simulator
):
    simulator.inject(kind="http_error", route="files.create", status=503, count=50)
    pinned = chat_request("gpt-4o-mini").model_copy(update={"reply_to": reply_to(kafka_settings.topics.replies, 1)})
    messages = [pinned, chat_request("gpt-4o-mini")]
    produce(kafka_settings, messages)
    async with run_collator(window_ms=800, submit_max_attempts=3), run_resolver():
        await wait_batches(db_engine, 1, submitted=False)
        raw = await read_topic_async(kafka_settings, kafka_settings.topics.replies, expect=2)
    replies = {decode(ReplyMessage, m.value()).request_id: (m, decode(ReplyMessage, m.value())) for m in raw}
    assert set(replies) == {m.request_id for m in messages}
    assert replies[pinned.request_id][0].partition() == 1
    for _message, reply in replies.values():
        assert reply.status == ReplyStatus.FAILED
        assert reply.status_code == 503
        assert reply.body["error"]["code"] == "upstream_unavailable"
        assert set(reply.body["error"]) == {"message", "type", "param", "code"}
    [batch] = batch_rows(db_engine)
    assert batch["status"] == "failed" and batch["resolved_at"] is not None and batch["submit_attempts"] == 3
    assert {m["outcome"] for m in member_rows(db_engine)} == {"failed"}
    assert {r["state"] for r in request_rows(db_engine).values()} == {"failed"}
    with db_engine.connect() as conn:
        stored = {r.request_id: r for r in conn.execute(select(results))}
    assert set(stored) == set(replies)
    assert all(r.status_code == 503 and json.loads(r.body)["error"]["code"] == "upstream_unavailable"
               for r in stored.values())
    stats = simulator.stats()
    assert stats["batches"] == 0 and stats["api_calls"]["files.create"] == 3


async def test_an_error_reply_to_an_unusable_destination_goes_to_the_default_topic(
    run_collator, run_resolver, kafka_settings, db_engine, simulator
):
    simulator.inject(kind="http_error", route="batches.create", status=400, count=1, code="invalid_value",
                     message="Invalid value for 'endpoint'.")
    lost = chat_request("gpt-4o-mini").model_copy(update={"reply_to": reply_to(kafka_settings.topics.replies, 7)})
    plain = chat_request("gpt-4o-mini")
    produce(kafka_settings, [lost, plain])
    async with run_collator(window_ms=500, submit_max_attempts=5), run_resolver():
        await wait_batches(db_engine, 1, submitted=False)
        raw = await read_topic_async(kafka_settings, kafka_settings.topics.replies, expect=2)
        [batch] = batch_rows(db_engine)
        assert batch["status"] == "failed"  # the collator went on: the bad destination did not stall it
    replies = {decode(ReplyMessage, m.value()).request_id: decode(ReplyMessage, m.value()) for m in raw}
    assert set(replies) == {lost.request_id, plain.request_id}  # partition 7 does not exist (the topic has 2)
    assert {r.status_code for r in replies.values()} == {400}


async def test_a_rejected_create_answers_with_the_upstream_error_at_once(
    run_collator, run_resolver, kafka_settings, db_engine, simulator
):
    simulator.inject(kind="http_error", route="batches.create", status=400, count=1, code="invalid_value",
                     message="Invalid value for 'endpoint'.")
    message = chat_request("gpt-4o-mini")
    produce(kafka_settings, [message])
    async with run_collator(window_ms=500, submit_max_attempts=5), run_resolver():
        await wait_batches(db_engine, 1, submitted=False)
        [raw] = await read_topic_async(kafka_settings, kafka_settings.topics.replies, expect=1)
    reply = decode(ReplyMessage, raw.value())
    assert reply.status_code == 400
    assert reply.body["error"]["code"] == "invalid_value"
    assert simulator.stats()["api_calls"]["batches.create"] == 1


async def test_connection_errors_are_retried_then_answered_with_upstream_unavailable(
    run_collator, run_resolver, kafka_settings, db_engine
):
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there: every call is a connection error
    message = chat_request("gpt-4o-mini")
    produce(kafka_settings, [message])
    async with (
        run_collator(window_ms=300, submit_max_attempts=3, openai_base_url=closed) as collator,
        run_resolver(),
    ):
        await wait_batches(db_engine, 1, submitted=False)
        [raw] = await read_topic_async(kafka_settings, kafka_settings.topics.replies, expect=1)
    reply = decode(ReplyMessage, raw.value())
    assert reply.request_id == message.request_id
    assert reply.status_code == 503 and reply.body["error"]["code"] == "upstream_unavailable"
    # attempt 1 fails at its upload (a batch with no recorded attempt is created without a look);
    # attempts 2 and 3 fail at their first call, the look, and so does the last look before giving up
    errors = collator.metrics.upstream_errors
    assert errors.labels(operation="files.create", kind="transient", status="")._value.get() == 1
    assert errors.labels(operation="batches.list", kind="transient", status="")._value.get() == 3


async def test_retry_after_is_honoured_before_retrying_a_create(run_collator, kafka_settings, db_engine, simulator):
    simulator.inject(kind="http_error", route="batches.create", status=429, count=1, retry_after_seconds=1.0)
    produce(kafka_settings, [chat_request("gpt-4o-mini")])
    async with run_collator(window_ms=200, submit_backoff_seconds=0.01, submit_backoff_max_seconds=5):
        await wait_batches(db_engine, 1)
    [batch] = batch_rows(db_engine)
    assert batch["submitted_at"] - batch["created_at"] >= 1.0  # the backoff alone would have waited ~0.01 s
    assert batch["submit_attempts"] == 2
    assert simulator.stats()["api_calls"]["batches.create"] == 2
