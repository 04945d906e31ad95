"""Every non-completion outcome is answered: validation failure (the lines blamed; their neighbours are
resubmitted), missing result, expiry and system cancel (with resubmission of unfinished lines up to the retry
budget), token_limit_exceeded, and a batch the collator could not submit (answered without an upstream batch)."""

from __future__ import annotations

from openai import OpenAI
from sqlalchemy import Engine, select

from batchgpt.settings import KafkaSettings
from batchgpt.simulator.testing import RunningSimulator
from batchgpt.store.tables import batch_members, requests, results
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from schemas import ReplyMessage, ReplyStatus, RequestMessage
from schemas.submission import SubmissionFailure
from tests.resolver.collator_role import announce, give_up_as_collator, make_request, submit_as_collator
from tests.resolver.conftest import wait_resolved, wait_until
from tests.resolver.topic_reader import TopicReader


def _by_id(reader: TopicReader, expected: int) -> dict[str, ReplyMessage]:
    replies = reader.replies()
    return {r.request_id: r for r in replies} if len(replies) >= expected else {}


def _outcomes(engine: Engine, batch_id: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(batch_members.c.request_id, batch_members.c.outcome).where(batch_members.c.batch_id == batch_id)
            ).all()
        )


async def test_validation_failure_answers_the_lines_blamed_and_resubmits_their_neighbours(
    resolver_settings: ResolverSettings,
    kafka_settings: KafkaSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    sim: RunningSimulator,
    replies_reader: TopicReader,
    requests_reader: TopicReader,
    unique_id: str,
) -> None:
    good_a = make_request(f"va-{unique_id}", "fine")
    no_messages = RequestMessage.model_validate({"request_id": f"vb-{unique_id}", "body": {"model": "gpt-4o-mini"}})
    good_c = make_request(f"vc-{unique_id}", "also fine")
    spent = make_request(f"vs-{unique_id}", "resubmitted too often already", attempt=3)
    per_line = submit_as_collator(client=openai_sync, engine=db_engine, members=[good_a, no_messages, good_c, spent])
    sim.inject(kind="batch", outcome="fail_validation", code="model_not_found", message="No such model here.")
    whole = [make_request(f"vw-{unique_id}-{i}", f"q{i}") for i in range(3)]
    batch_level = submit_as_collator(client=openai_sync, engine=db_engine, members=whole)
    announce(kafka_settings, per_line)

    async with running_resolver(resolver_settings.model_copy(update={"isolation_max_resubmits": 3})):
        await wait_resolved(db_engine, per_line)
        await wait_resolved(db_engine, batch_level)

    replies = await wait_until(lambda: _by_id(replies_reader, 5), what="five replies")
    assert set(replies) == {no_messages.request_id, spent.request_id, *(m.request_id for m in whole)}
    own = replies[no_messages.request_id]
    assert own.status is ReplyStatus.FAILED and own.status_code == 400
    assert own.body["error"]["code"] == "invalid_request" and own.body["error"]["param"] == "body.messages"
    too_often = replies[spent.request_id]
    assert too_often.status_code == 502 and too_often.body["error"]["code"] == "batch_failed"
    assert "line 2" in too_often.body["error"]["message"]
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmissions")
    assert sorted((r.request_id, r.attempt) for r in again) == [(good_a.request_id, 1), (good_c.request_id, 1)]
    assert {r.request_id: r.body for r in again} == {good_a.request_id: good_a.body, good_c.request_id: good_c.body}
    assert _outcomes(db_engine, per_line) == {
        good_a.request_id: "resubmitted",
        no_messages.request_id: "failed",
        good_c.request_id: "resubmitted",
        spent.request_id: "failed",
    }
    with db_engine.connect() as conn:
        states = dict(conn.execute(select(requests.c.request_id, requests.c.state)).all())
    assert states[good_a.request_id] == states[good_c.request_id] == "queued"
    for member in whole:
        reply = replies[member.request_id]
        assert reply.status_code == 400
        assert reply.body["error"] == {
            "message": "No such model here.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    assert set(_outcomes(db_engine, batch_level).values()) == {"failed"}


async def test_a_member_in_neither_file_gets_missing_result(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    replies_reader: TopicReader,
    unique_id: str,
) -> None:
    present = make_request(f"mp-{unique_id}", "here")
    absent = make_request(f"ma-{unique_id}", "never sent upstream")
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=[present], extra_members=[absent])

    async with running_resolver(resolver_settings):
        await wait_resolved(db_engine, batch_id)

    replies = await wait_until(lambda: _by_id(replies_reader, 2), what="two replies")
    assert replies[present.request_id].status is ReplyStatus.COMPLETED
    missing = replies[absent.request_id]
    assert missing.status_code == 502 and missing.body["error"]["code"] == "missing_result"
    with db_engine.connect() as conn:
        assert conn.execute(select(results.c.status).where(results.c.request_id == absent.request_id)).scalar() == (
            "failed"
        )


async def test_expired_batch_answers_finished_lines_and_resubmits_unfinished_ones_once(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    sim: RunningSimulator,
    replies_reader: TopicReader,
    requests_reader: TopicReader,
    unique_id: str,
) -> None:
    sim.configure(slow_line_seconds=3.0)
    sim.inject(kind="batch", outcome="expire", fraction=0.3)
    fast = [make_request(f"ef-{unique_id}-{i}", f"quick {i}") for i in range(3)]
    slow_first = make_request(f"es-{unique_id}", "slow [sim:slow]")
    slow_retried = make_request(f"er-{unique_id}", "slow again [sim:slow]", attempt=1)
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=[*fast, slow_first, slow_retried])

    async with running_resolver(resolver_settings):
        row = await wait_resolved(db_engine, batch_id)

    assert row.status == "expired"
    replies = await wait_until(lambda: _by_id(replies_reader, 4), what="four replies")
    assert all(replies[f.request_id].status is ReplyStatus.COMPLETED for f in fast)
    expired = replies[slow_retried.request_id]
    assert expired.status_code == 504 and expired.body["error"]["code"] == "batch_expired"
    assert slow_first.request_id not in replies
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmission")
    assert [(r.request_id, r.attempt) for r in again] == [(slow_first.request_id, 1)]
    assert again[0].body == slow_first.body and again[0].reply_to == slow_first.reply_to
    assert _outcomes(db_engine, batch_id)[slow_first.request_id] == "resubmitted"
    with db_engine.connect() as conn:
        state = conn.execute(select(requests.c.state).where(requests.c.request_id == slow_first.request_id)).scalar()
    assert state == "queued"


async def test_system_cancelled_batch_resubmits_then_answers_batch_cancelled(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    sim: RunningSimulator,
    replies_reader: TopicReader,
    requests_reader: TopicReader,
    unique_id: str,
) -> None:
    sim.configure(slow_line_seconds=3.0)
    sim.inject(kind="batch", outcome="cancel", fraction=0.3)
    fast = make_request(f"cf-{unique_id}", "quick")
    slow_first = make_request(f"cs-{unique_id}", "slow [sim:slow]")
    slow_retried = make_request(f"cr-{unique_id}", "slow again [sim:slow]", attempt=1)
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=[fast, slow_first, slow_retried])

    async with running_resolver(resolver_settings):
        row = await wait_resolved(db_engine, batch_id)

    assert row.status == "cancelled"
    replies = await wait_until(lambda: _by_id(replies_reader, 2), what="two replies")
    assert replies[fast.request_id].status is ReplyStatus.COMPLETED
    cancelled = replies[slow_retried.request_id]
    assert cancelled.status_code == 409 and cancelled.body["error"]["code"] == "batch_cancelled"
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmission")
    assert [(r.request_id, r.attempt) for r in again] == [(slow_first.request_id, 1)]


async def test_token_limit_exceeded_resubmits_after_the_wait_then_answers_429(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    openai_sync: OpenAI,
    sim: RunningSimulator,
    replies_reader: TopicReader,
    requests_reader: TopicReader,
    unique_id: str,
) -> None:
    settings = resolver_settings.model_copy(update={"token_limit_max_resubmits": 2, "token_limit_wait_seconds": 0.5})
    sim.inject(kind="batch", outcome="token_limit_exceeded")
    fresh = make_request(f"tf-{unique_id}", "first try")
    spent = make_request(f"ts-{unique_id}", "third try", attempt=2)
    batch_id = submit_as_collator(client=openai_sync, engine=db_engine, members=[fresh, spent])

    async with running_resolver(settings):
        row = await wait_resolved(db_engine, batch_id)

    assert row.status == "failed"
    assert row.resolved_at - row.terminal_at >= 0.5  # waited before resubmitting
    replies = await wait_until(lambda: _by_id(replies_reader, 1), what="the 429")
    assert list(replies) == [spent.request_id]
    assert replies[spent.request_id].status_code == 429
    assert replies[spent.request_id].body["error"]["code"] == "token_limit_exceeded"
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmission")
    assert [(r.request_id, r.attempt) for r in again] == [(fresh.request_id, 1)]


async def test_a_batch_the_collator_could_not_submit_is_answered_without_asking_upstream(
    resolver_settings: ResolverSettings,
    db_engine: Engine,
    sim: RunningSimulator,
    replies_reader: TopicReader,
    kafka_settings: KafkaSettings,
    unique_id: str,
) -> None:
    pinned = make_request(f"gp-{unique_id}", "pinned", reply_topic=kafka_settings.topics.replies, reply_partition=1)
    plain = make_request(f"gq-{unique_id}", "plain")
    unavailable = give_up_as_collator(
        engine=db_engine,
        members=[pinned, plain],
        failure=SubmissionFailure(message="files.create: HTTP 503", rejected=False, upstream_status=503),
    )
    refused = make_request(f"gr-{unique_id}", "refused")
    rejected = give_up_as_collator(
        engine=db_engine,
        members=[refused],
        failure=SubmissionFailure(
            message="batches.create: HTTP 400: Invalid value",
            rejected=True,
            upstream_status=400,
            upstream_error={"message": "Invalid value", "type": "invalid_request_error", "param": "x",
                            "code": "invalid_value"},
        ),
    )

    async with running_resolver(resolver_settings):
        first = await wait_resolved(db_engine, unavailable)
        second = await wait_resolved(db_engine, rejected)

    assert first.status == "failed" and first.upstream_batch_id is None and second.status == "failed"
    assert sim.stats(include_custom_ids=False)["api_calls"] == {}  # nothing to poll: it never reached upstream
    replies = await wait_until(lambda: _by_id(replies_reader, 3), what="three replies")
    for member in (pinned, plain):
        reply = replies[member.request_id]
        assert reply.status is ReplyStatus.FAILED and reply.status_code == 503
        assert reply.body["error"]["code"] == "upstream_unavailable" and reply.body["error"]["type"] == "server_error"
        assert reply.batch_id == unavailable and reply.upstream_batch_id is None
    assert replies[refused.request_id].status_code == 400
    assert replies[refused.request_id].body["error"] == {
        "message": "The upstream Batch API rejected the batch: Invalid value", "type": "invalid_request_error",
        "param": "x", "code": "invalid_value"}
    assert set(_outcomes(db_engine, unavailable).values()) == {"failed"}
    with db_engine.connect() as conn:
        stored = dict(conn.execute(select(results.c.request_id, results.c.status_code)).all())
        states = dict(conn.execute(select(requests.c.request_id, requests.c.state)).all())
    assert stored == {pinned.request_id: 503, plain.request_id: 503, refused.request_id: 400}
    assert set(states.values()) == {"failed"}
