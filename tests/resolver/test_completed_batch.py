"""A completed batch: every caller gets its own line (2xx completion or per-line 4xx/5xx), routed to its
reply_to, with results, request states, member outcomes, tokens and events recorded."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from batchgpt.kafka import ensure_topics
from batchgpt.simulator.answers import expected_chat_content, expected_embedding
from batchgpt.store.tables import requests, results
from resolver.app import running_resolver
from schemas import BatchEventKind, ReplyStatus, RequestMessage
from tests.resolver.collator_role import announce, make_request
from tests.resolver.rig import ResolverRig, wait_resolved, wait_until
from tests.resolver.topic_reader import TopicReader


async def test_completed_batch_answers_every_caller_with_its_own_line(
    rig: ResolverRig, events_reader: TopicReader, unique_id: str
) -> None:
    custom_topic = rig.kafka.topic_prefix + "custom-replies"
    ensure_topics(rig.kafka, names=[custom_topic], partitions=1)
    ok = [make_request(f"ok-{unique_id}-{i}", f"question {i}") for i in range(5)]
    bad = make_request(f"bad-{unique_id}", "please fail [sim:error=400:context_length_exceeded]")
    broken = make_request(f"broken-{unique_id}", "server trouble [sim:error=503]")
    pinned = make_request(f"pinned-{unique_id}", "pinned", reply_topic=rig.kafka.topics.replies, reply_partition=1)
    custom = make_request(f"custom-{unique_id}", "custom topic", reply_topic=custom_topic)
    members = [*ok, bad, broken, pinned, custom]
    batch_id = rig.submit(members)
    announce(rig.kafka, batch_id)

    async with running_resolver(rig.settings) as resolver:
        row = await wait_resolved(rig.engine, batch_id)

    replies = await rig.wait_replies(len(members) - 1, what="replies on the default topic")
    by_id = {r.request_id: r for r in replies}
    assert Counter(r.request_id for r in replies) == Counter({m.request_id: 1 for m in members if m is not custom})
    for request in [*ok, pinned]:
        reply = by_id[request.request_id]
        assert reply.status is ReplyStatus.COMPLETED and reply.status_code == 200
        assert reply.body["choices"][0]["message"]["content"] == expected_chat_content(request.body)
        assert reply.batch_id == batch_id and reply.upstream_batch_id == row.upstream_batch_id
    assert by_id[bad.request_id].status_code == 400
    assert by_id[bad.request_id].body["error"]["code"] == "context_length_exceeded"
    assert by_id[broken.request_id].status is ReplyStatus.FAILED and by_id[broken.request_id].status_code == 503
    assert set(by_id[broken.request_id].body["error"]) == {"message", "type", "param", "code"}
    assert [s.partition for s in rig.default_replies.seen if s.key == pinned.request_id] == [1]

    with TopicReader(rig.kafka.kafka_bootstrap_servers, custom_topic) as custom_reader:
        on_custom = await wait_until(lambda: custom_reader.replies(), what="reply on the custom topic")
    assert [r.request_id for r in on_custom] == [custom.request_id]

    with rig.engine.connect() as conn:
        stored = {r.request_id: r for r in conn.execute(select(results))}
        states = dict(conn.execute(select(requests.c.request_id, requests.c.state)).all())
    outcomes = rig.outcomes(batch_id)
    assert set(stored) == {m.request_id for m in members}
    assert stored[bad.request_id].status_code == 400 and stored[ok[0].request_id].status == "completed"
    assert states[ok[0].request_id] == "completed" and states[bad.request_id] == "failed"
    assert outcomes[broken.request_id] == "failed" and outcomes[custom.request_id] == "completed"
    assert row.status == "completed" and row.request_completed == 7 and row.request_failed == 2
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.total_tokens == row.input_tokens + row.output_tokens

    events = await wait_until(
        lambda: (e := events_reader.events()) and any(x.kind is BatchEventKind.RESOLVED for x in e) and e,
        what="resolved event",
    )
    kinds = [e.kind for e in events if e.batch_id == batch_id]
    assert kinds[0] is BatchEventKind.SUBMITTED
    assert BatchEventKind.TERMINAL in kinds and kinds[-1] is BatchEventKind.RESOLVED
    assert kinds.index(BatchEventKind.TERMINAL) < kinds.index(BatchEventKind.RESOLVED)
    sample = resolver.metrics.registry.get_sample_value
    assert sample("batchgpt_resolver_lines_total", {"outcome": "completed"}) == 7
    assert sample("batchgpt_resolver_lines_total", {"outcome": "failed"}) == 2


async def test_a_reply_to_an_unusable_partition_falls_back_to_the_default_topic(
    rig: ResolverRig, unique_id: str
) -> None:
    lost = make_request(f"lost-{unique_id}", "where to?", reply_topic=rig.kafka.topics.replies, reply_partition=7)
    fine = make_request(f"fine-{unique_id}", "here")
    batch_id = rig.submit([lost, fine])
    await rig.resolve(batch_id)
    replies = await rig.wait_replies(2, what="two replies")
    assert sorted(r.request_id for r in replies) == sorted([lost.request_id, fine.request_id])
    assert all(r.status is ReplyStatus.COMPLETED for r in replies)


async def test_an_embeddings_batch_answers_each_caller_with_its_vectors(rig: ResolverRig, unique_id: str) -> None:
    texts = ["first text", "second text"]
    members = [
        RequestMessage.model_validate(
            {
                "request_id": f"emb-{unique_id}-{i}",
                "endpoint": "/v1/embeddings",
                "body": {"model": "text-embedding-3-small", "input": text, "dimensions": 8},
            }
        )
        for i, text in enumerate(texts)
    ]
    batch_id = rig.submit(members)
    [row] = await rig.resolve(batch_id)
    by_id = await rig.replies_by_id(2, what="two replies")
    for member, text in zip(members, texts, strict=True):
        reply = by_id[member.request_id]
        assert reply.status is ReplyStatus.COMPLETED
        assert reply.body["data"][0]["embedding"] == expected_embedding(text, 8)
    assert row.endpoint == "/v1/embeddings" and row.input_tokens > 0 and row.output_tokens == 0
