"""Nobody waits forever: a batch the upstream no longer knows, or a result file it deleted, still ends in
an answer for every member; and a ``submitted`` batch event wakes an idle worker at once."""

from __future__ import annotations

import time

from openai import OpenAI
from sqlalchemy import Engine, update

from batchgpt.settings import KafkaSettings
from batchgpt.store.tables import batches
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from schemas import ReplyStatus
from tests.resolver.collator_role import announce, make_request, submit_as_collator
from tests.resolver.conftest import batch_row, wait_resolved, wait_until
from tests.resolver.topic_reader import TopicReader


async def test_a_batch_unknown_upstream_is_answered_batch_not_found(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    replies_reader: TopicReader,
    unique_id: str,
) -> None:
    members = [make_request(f"gone-{unique_id}-{i}", f"q{i}") for i in range(2)]
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=members)
    with db_engine.begin() as conn:
        conn.execute(update(batches).where(batches.c.id == batch_id).values(upstream_batch_id="batch_vanished"))

    async with running_resolver(resolver_settings) as resolver:
        row = await wait_resolved(db_engine, batch_id)

    assert row.status == "failed"
    replies = await wait_until(lambda: (r := replies_reader.replies()) and len(r) >= 2 and r, what="two replies")
    for reply in replies:
        assert reply.status is ReplyStatus.FAILED and reply.status_code == 502
        assert reply.body["error"]["code"] == "batch_not_found"
    errors = resolver.metrics.registry.get_sample_value(
        "batchgpt_resolver_upstream_errors_total", {"operation": "batches.retrieve"}
    )
    assert errors == 3  # given up after three consecutive 404s, not at the first


async def test_a_deleted_output_file_ends_in_missing_result_not_in_a_wait(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    replies_reader: TopicReader,
    unique_id: str,
) -> None:
    members = [make_request(f"nofile-{unique_id}-{i}", f"q{i}") for i in range(2)]
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=members)
    upstream_id = batch_row(db_engine, batch_id).upstream_batch_id
    done = await wait_until(
        lambda: (b := openai_sync.batches.retrieve(upstream_id)).status == "completed" and b, what="upstream done"
    )
    openai_sync.files.delete(done.output_file_id)

    async with running_resolver(resolver_settings):
        await wait_resolved(db_engine, batch_id)

    replies = await wait_until(lambda: (r := replies_reader.replies()) and len(r) >= 2 and r, what="two replies")
    assert {(r.status_code, r.body["error"]["code"]) for r in replies} == {(502, "missing_result")}


async def test_a_submitted_event_wakes_an_idle_worker(
    resolver_settings: ResolverSettings,
    kafka_settings: KafkaSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    unique_id: str,
) -> None:
    settings = resolver_settings.model_copy(update={"idle_scan_seconds": 60.0})
    async with running_resolver(settings) as resolver:
        gauge = resolver.metrics.registry.get_sample_value
        # the gauges are refreshed right before the worker idles: nothing is open, its next scan is in 60 s
        await wait_until(lambda: gauge("batchgpt_resolver_open_batches", {"status": "completed"}) == 0, what="idle")
        batch_id = submit_as_collator(
            client=openai_sync, engine=db_engine, members=[make_request(f"wake-{unique_id}", "hi")]
        )
        started = time.monotonic()
        announce(kafka_settings, batch_id)
        await wait_resolved(db_engine, batch_id, timeout_s=30)
    assert time.monotonic() - started < 30  # well before the 60 s scan would have found it
