"""Windows become upstream batches: one per (tenant, endpoint, model), split by the caps (real broker, simulator)."""

from __future__ import annotations

import json
from collections import Counter

from openai import OpenAI

from schemas.codec import decode
from schemas.messages import BatchEvent
from schemas.status import BatchEventKind
from tests.collator.harness import (
    batch_rows,
    chat_request,
    member_rows,
    produce,
    read_topic,
    request_rows,
    wait_batches,
)
from tests.support.waiting import wait_for


async def test_three_models_in_one_window_become_three_batches(run_collator, kafka_settings, db_engine, simulator):
    models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1"]
    messages = [chat_request(model) for model in models for _ in range(4)]
    produce(kafka_settings, messages)
    async with run_collator(window_ms=1500):
        await wait_batches(db_engine, 3)
    stats = simulator.stats()
    assert stats["batches"] == 3
    assert stats["duplicate_custom_ids"] == []
    by_model = {d["model"]: d for d in stats["batch_details"]}
    assert set(by_model) == set(models)
    assert all(d["lines"] == 4 for d in stats["batch_details"])
    expected = {m.request_id: m.model for m in messages}
    assert stats["custom_id_submissions"] == {rid: 1 for rid in expected}
    rows = {r["id"]: r for r in batch_rows(db_engine)}
    for member in member_rows(db_engine):
        assert rows[member["batch_id"]]["model"] == expected[member["request_id"]]
    states = request_rows(db_engine)
    assert {rid: states[rid]["state"] for rid in expected} == {rid: "submitted" for rid in expected}
    events = [decode(BatchEvent, m.value()) for m in read_topic(kafka_settings, kafka_settings.topics.batches,
                                                                 expect=3)]
    assert {e.batch_id for e in events} == set(rows)
    assert all(e.kind == BatchEventKind.SUBMITTED and e.request_counts.total == 4 for e in events)
    assert Counter(e.model for e in events) == Counter(models)


async def test_caps_split_a_window(run_collator, kafka_settings, db_engine, simulator):
    messages = [chat_request("gpt-4o-mini") for _ in range(7)]
    produce(kafka_settings, messages)
    async with run_collator(window_ms=1500, max_batch_requests=3):
        await wait_batches(db_engine, 3)
    stats = simulator.stats()
    assert sorted(d["lines"] for d in stats["batch_details"]) == [1, 3, 3]
    assert stats["duplicate_custom_ids"] == []
    assert stats["lines_submitted"] == 7


async def test_a_redelivered_request_is_not_submitted_again_but_a_resubmission_attempt_is(
    run_collator, kafka_settings, db_engine, simulator
):
    message = chat_request("gpt-4o-mini")
    async with run_collator(window_ms=200):
        produce(kafka_settings, [message])
        await wait_batches(db_engine, 1)
        produce(kafka_settings, [message])  # the same request again (a producer retry, a replay)
        produce(kafka_settings, [message.model_copy(update={"attempt": 1})])  # the resolver's resubmission
        await wait_batches(db_engine, 2)
    stats = simulator.stats()
    assert stats["custom_id_submissions"] == {message.request_id: 2}
    assert sorted(m["attempt"] for m in member_rows(db_engine)) == [0, 1]


async def test_streaming_fields_are_removed_so_the_batch_passes_upstream_validation(
    run_collator, kafka_settings, db_engine, simulator
):
    message = chat_request("gpt-4o-mini", stream=True, stream_options={"include_usage": True}, temperature=0)
    produce(kafka_settings, [message])
    async with run_collator(window_ms=200):
        await wait_batches(db_engine, 1)
        [row] = batch_rows(db_engine)
    with OpenAI(base_url=simulator.base_url, api_key="sk-test", max_retries=0) as client:
        upstream = client.batches.retrieve(row["upstream_batch_id"])
        content = client.files.content(upstream.input_file_id)
    [line] = [json.loads(text) for text in content.text.splitlines()]
    assert line["custom_id"] == message.request_id
    assert line["body"] == {"model": "gpt-4o-mini", "messages": message.body["messages"], "temperature": 0}

    def completed() -> bool:
        return simulator.stats()["batches_by_status"] == {"completed": 1}

    wait_for(completed, timeout_s=10, what="the upstream batch completing (a streaming line would fail validation)")
