"""Validation isolation through the collator and the resolver: a batch failed at validation because of one
line answers that line's caller with its error, and its other lines go upstream again, once, as a new attempt
in a new batch (new batch id, new file) and are answered with their completions."""

from __future__ import annotations

from collections import Counter

from batchgpt.simulator.answers import expected_chat_content
from schemas.codec import decode
from schemas.messages import ReplyMessage
from schemas.status import ReplyStatus
from tests.collator.harness import batch_rows, chat_request, member_rows, produce, read_topic_async, request_rows
from tests.support.waiting import async_wait_for


async def test_the_line_blamed_gets_its_error_and_the_others_a_new_batch(
    run_collator, run_resolver, kafka_settings, db_engine, simulator
):
    good = [chat_request("gpt-4o-mini", text=f"good neighbour {i}") for i in range(4)]
    bad = chat_request("gpt-4o-mini", text="this one is refused [sim:invalid=invalid_value]")
    messages = [good[0], good[1], bad, good[2], good[3]]
    produce(kafka_settings, messages)
    async with run_collator(window_ms=500), run_resolver():
        raw = await read_topic_async(kafka_settings, kafka_settings.topics.replies, expect=5, timeout_s=60)

        async def both_resolved() -> bool:
            rows = batch_rows(db_engine)
            return len(rows) == 2 and all(r["resolved_at"] is not None for r in rows)

        await async_wait_for(both_resolved, timeout_s=30, what="both batches resolved")

    replies = {r.request_id: r for r in (decode(ReplyMessage, m.value()) for m in raw)}
    assert set(replies) == {m.request_id for m in messages}
    refused = replies[bad.request_id]
    assert refused.status is ReplyStatus.FAILED and refused.status_code == 400
    assert refused.body["error"]["code"] == "invalid_value" and refused.body["error"]["param"] == "body"
    for request in good:
        reply = replies[request.request_id]
        assert reply.status is ReplyStatus.COMPLETED and reply.status_code == 200
        assert reply.body["choices"][0]["message"]["content"] == expected_chat_content(request.body)

    first, second = sorted(batch_rows(db_engine), key=lambda r: r["created_at"])
    assert first["status"] == "failed" and first["line_count"] == 5
    assert second["status"] == "completed" and second["line_count"] == 4
    assert second["id"] != first["id"] and second["upstream_batch_id"] != first["upstream_batch_id"]
    assert second["input_file_id"] != first["input_file_id"]
    assert replies[good[0].request_id].batch_id == second["id"]
    members = {(m["batch_id"], m["request_id"]): (m["attempt"], m["outcome"]) for m in member_rows(db_engine)}
    assert members == {
        **{(first["id"], r.request_id): (0, "resubmitted") for r in good},
        (first["id"], bad.request_id): (0, "failed"),
        **{(second["id"], r.request_id): (1, "completed") for r in good},
    }
    states = {rid: row["state"] for rid, row in request_rows(db_engine).items()}
    assert states == {**{r.request_id: "completed" for r in good}, bad.request_id: "failed"}

    # upstream: each good line twice (the failed batch ran nothing), the bad one once, nothing executed twice
    stats = simulator.stats()
    assert Counter(stats["custom_id_submissions"]) == Counter({**{r.request_id: 2 for r in good}, bad.request_id: 1})
    assert stats["duplicate_executions"] == [] and stats["lines_executed"] == 4
    assert stats["batches_by_status"] == {"failed": 1, "completed": 1}
