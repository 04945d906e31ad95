"""The provider's request id of each batch line (``response.request_id``) travels with the caller's reply and
is stored with its result; a line that never ran has none."""

from __future__ import annotations

import json

from openai import OpenAI
from sqlalchemy import Engine, select

from batchgpt.settings import KafkaSettings
from batchgpt.store.tables import results
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from tests.resolver.collator_role import announce, make_request, submit_as_collator
from tests.resolver.conftest import wait_resolved, wait_until
from tests.resolver.topic_reader import TopicReader


def _line_request_ids(client: OpenAI, *file_ids: str | None) -> dict[str, str]:
    """custom_id -> response.request_id of every line of the simulator's output and error files."""
    found: dict[str, str] = {}
    for file_id in file_ids:
        if not file_id:
            continue
        for raw in client.files.content(file_id).text.splitlines():
            line = json.loads(raw)
            if line.get("response"):
                found[line["custom_id"]] = line["response"]["request_id"]
    return found


async def test_each_reply_carries_its_lines_upstream_request_id(
    resolver_settings: ResolverSettings,
    kafka_settings: KafkaSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    replies_reader: TopicReader,
    unique_id: str,
) -> None:
    members = [
        make_request(f"ok-{unique_id}", "a question"),
        make_request(f"bad-{unique_id}", "please fail [sim:error=400:context_length_exceeded]"),
    ]
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=members)
    announce(kafka_settings, batch_id)
    async with running_resolver(resolver_settings):
        row = await wait_resolved(db_engine, batch_id)
    replies = await wait_until(
        lambda: (r := replies_reader.replies()) and len(r) >= len(members) and r, what="both replies"
    )
    expected = _line_request_ids(openai_sync, row.output_file_id, row.error_file_id)
    assert set(expected) == {m.request_id for m in members} and all(expected.values())
    assert {r.request_id: r.upstream_request_id for r in replies} == expected
    with db_engine.connect() as conn:
        stored = dict(conn.execute(select(results.c.request_id, results.c.upstream_request_id)).all())
    assert stored == expected
