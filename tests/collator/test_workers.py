"""Several collator workers share the requests topic's partitions; each request is submitted once."""

from __future__ import annotations

from collator.app import create_app
from tests.collator.harness import batch_rows, chat_request, member_rows, produce
from tests.support.waiting import async_wait_for


async def test_two_workers_share_the_partitions_and_submit_each_request_once(
    collator_settings, kafka_settings, db_engine, simulator
):
    settings = collator_settings(window_ms=300)
    first, second = create_app(settings, engine=db_engine), create_app(settings, engine=db_engine)
    async with first.running(), second.running():
        async def both_assigned() -> bool:
            return all(len(w.faust_app.consumer.assignment()) == 1 for w in (first, second))

        await async_wait_for(both_assigned, timeout_s=40, what="each worker owning one partition")
        messages = [chat_request(model) for model in ("gpt-4o-mini", "gpt-4o") for _ in range(20)]
        for start in range(0, len(messages), 10):
            produce(kafka_settings, messages[start : start + 10])

        async def all_members() -> bool:
            return len(member_rows(db_engine)) == len(messages)

        await async_wait_for(all_members, timeout_s=30, what="every request reserved")
        await async_wait_for(lambda: _all_submitted(db_engine), timeout_s=30, what="every batch submitted")
    stats = simulator.stats()
    assert stats["duplicate_custom_ids"] == []
    assert stats["custom_id_submissions"] == {m.request_id: 1 for m in messages}
    windows = [w.metrics.windows._value.get() for w in (first, second)]
    assert all(count >= 1 for count in windows), windows


async def _all_submitted(engine) -> bool:
    rows = batch_rows(engine)
    return bool(rows) and all(r["upstream_batch_id"] for r in rows)
