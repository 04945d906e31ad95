"""Every non-completion outcome is answered: validation failure (the lines blamed; their neighbours are
resubmitted), missing result, expiry and system cancel
(with resubmission of unfinished lines up to the retry budget), token_limit_exceeded, and a batch the
collator could not submit (answered without an upstream batch)."""

from __future__ import annotations

from sqlalchemy import select

from batchgpt.store.tables import requests, results
from schemas import ReplyStatus, RequestMessage
from schemas.submission import SubmissionFailure
from tests.resolver.collator_role import announce, give_up_as_collator, make_request
from tests.resolver.rig import ResolverRig, wait_until
from tests.resolver.topic_reader import TopicReader


async def test_validation_failure_answers_the_lines_blamed_and_resubmits_their_neighbours(
    rig: ResolverRig, requests_reader: TopicReader, unique_id: str
) -> None:
    good_a = make_request(f"va-{unique_id}", "fine")
    no_messages = RequestMessage.model_validate({"request_id": f"vb-{unique_id}", "body": {"model": "gpt-4o-mini"}})
    good_c = make_request(f"vc-{unique_id}", "also fine")
    spent = make_request(f"vs-{unique_id}", "resubmitted too often already", attempt=3)
    per_line = rig.submit([good_a, no_messages, good_c, spent])
    rig.sim.inject(kind="batch", outcome="fail_validation", code="model_not_found", message="No such model here.")
    whole = [make_request(f"vw-{unique_id}-{i}", f"q{i}") for i in range(3)]
    batch_level = rig.submit(whole)
    announce(rig.kafka, per_line)

    await rig.resolve(per_line, batch_level, settings=rig.settings.model_copy(update={"isolation_max_resubmits": 3}))

    replies = await rig.replies_by_id(5, what="five replies")
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
    assert rig.outcomes(per_line) == {
        good_a.request_id: "resubmitted",
        no_messages.request_id: "failed",
        good_c.request_id: "resubmitted",
        spent.request_id: "failed",
    }
    with rig.engine.connect() as conn:
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
    assert set(rig.outcomes(batch_level).values()) == {"failed"}


async def test_a_member_in_neither_file_gets_missing_result(rig: ResolverRig, unique_id: str) -> None:
    present = make_request(f"mp-{unique_id}", "here")
    absent = make_request(f"ma-{unique_id}", "never sent upstream")
    batch_id = rig.submit([present], extra_members=[absent])

    await rig.resolve(batch_id)

    replies = await rig.replies_by_id(2, what="two replies")
    assert replies[present.request_id].status is ReplyStatus.COMPLETED
    missing = replies[absent.request_id]
    assert missing.status_code == 502 and missing.body["error"]["code"] == "missing_result"
    with rig.engine.connect() as conn:
        assert conn.execute(select(results.c.status).where(results.c.request_id == absent.request_id)).scalar() == (
            "failed"
        )


async def test_expired_batch_answers_finished_lines_and_resubmits_unfinished_ones_once(
    rig: ResolverRig, requests_reader: TopicReader, unique_id: str
) -> None:
    rig.sim.configure(slow_line_seconds=3.0)
    rig.sim.inject(kind="batch", outcome="expire", fraction=0.3)
    fast = [make_request(f"ef-{unique_id}-{i}", f"quick {i}") for i in range(3)]
    slow_first = make_request(f"es-{unique_id}", "slow [sim:slow]")
    slow_retried = make_request(f"er-{unique_id}", "slow again [sim:slow]", attempt=1)
    batch_id = rig.submit([*fast, slow_first, slow_retried])

    [row] = await rig.resolve(batch_id)

    assert row.status == "expired"
    replies = await rig.replies_by_id(4, what="four replies")
    assert all(replies[f.request_id].status is ReplyStatus.COMPLETED for f in fast)
    expired = replies[slow_retried.request_id]
    assert expired.status_code == 504 and expired.body["error"]["code"] == "batch_expired"
    assert slow_first.request_id not in replies
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmission")
    assert [(r.request_id, r.attempt) for r in again] == [(slow_first.request_id, 1)]
    assert again[0].body == slow_first.body and again[0].reply_to == slow_first.reply_to
    assert rig.outcomes(batch_id)[slow_first.request_id] == "resubmitted"
    with rig.engine.connect() as conn:
        state = conn.execute(select(requests.c.state).where(requests.c.request_id == slow_first.request_id)).scalar()
    assert state == "queued"


async def test_system_cancelled_batch_resubmits_then_answers_batch_cancelled(
    rig: ResolverRig, requests_reader: TopicReader, unique_id: str
) -> None:
    rig.sim.configure(slow_line_seconds=3.0)
    rig.sim.inject(kind="batch", outcome="cancel", fraction=0.3)
    fast = make_request(f"cf-{unique_id}", "quick")
    slow_first = make_request(f"cs-{unique_id}", "slow [sim:slow]")
    slow_retried = make_request(f"cr-{unique_id}", "slow again [sim:slow]", attempt=1)
    batch_id = rig.submit([fast, slow_first, slow_retried])

    [row] = await rig.resolve(batch_id)

    assert row.status == "cancelled"
    replies = await rig.replies_by_id(2, what="two replies")
    assert replies[fast.request_id].status is ReplyStatus.COMPLETED
    cancelled = replies[slow_retried.request_id]
    assert cancelled.status_code == 409 and cancelled.body["error"]["code"] == "batch_cancelled"
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmission")
    assert [(r.request_id, r.attempt) for r in again] == [(slow_first.request_id, 1)]


async def test_token_limit_exceeded_resubmits_after_the_wait_then_answers_429(
    rig: ResolverRig, requests_reader: TopicReader, unique_id: str
) -> None:
    settings = rig.settings.model_copy(update={"token_limit_max_resubmits": 2, "token_limit_wait_seconds": 0.5})
    rig.sim.inject(kind="batch", outcome="token_limit_exceeded")
    fresh = make_request(f"tf-{unique_id}", "first try")
    spent = make_request(f"ts-{unique_id}", "third try", attempt=2)
    batch_id = rig.submit([fresh, spent])

    [row] = await rig.resolve(batch_id, settings=settings)

    assert row.status == "failed"
    assert row.resolved_at - row.terminal_at >= 0.5  # waited before resubmitting
    replies = await rig.replies_by_id(1, what="the 429")
    assert list(replies) == [spent.request_id]
    assert replies[spent.request_id].status_code == 429
    assert replies[spent.request_id].body["error"]["code"] == "token_limit_exceeded"
    again = await wait_until(lambda: requests_reader.requests(), what="the resubmission")
    assert [(r.request_id, r.attempt) for r in again] == [(fresh.request_id, 1)]


async def test_a_batch_the_collator_could_not_submit_is_answered_without_asking_upstream(
    rig: ResolverRig, unique_id: str
) -> None:
    pinned = make_request(f"gp-{unique_id}", "pinned", reply_topic=rig.kafka.topics.replies, reply_partition=1)
    plain = make_request(f"gq-{unique_id}", "plain")
    unavailable = give_up_as_collator(
        engine=rig.engine,
        members=[pinned, plain],
        failure=SubmissionFailure(message="files.create: HTTP 503", rejected=False, upstream_status=503),
    )
    refused = make_request(f"gr-{unique_id}", "refused")
    rejected = give_up_as_collator(
        engine=rig.engine,
        members=[refused],
        failure=SubmissionFailure(
            message="batches.create: HTTP 400: Invalid value",
            rejected=True,
            upstream_status=400,
            upstream_error={
                "message": "Invalid value",
                "type": "invalid_request_error",
                "param": "x",
                "code": "invalid_value",
            },
        ),
    )

    first, second = await rig.resolve(unavailable, rejected)

    assert first.status == "failed" and first.upstream_batch_id is None and second.status == "failed"
    assert rig.sim.stats(include_custom_ids=False)["api_calls"] == {}  # nothing to poll: it never reached upstream
    replies = await rig.replies_by_id(3, what="three replies")
    for member in (pinned, plain):
        reply = replies[member.request_id]
        assert reply.status is ReplyStatus.FAILED and reply.status_code == 503
        assert reply.body["error"]["code"] == "upstream_unavailable" and reply.body["error"]["type"] == "server_error"
        assert reply.batch_id == unavailable and reply.upstream_batch_id is None
    assert replies[refused.request_id].status_code == 400
    assert replies[refused.request_id].body["error"] == {
        "message": "The upstream Batch API rejected the batch: Invalid value",
        "type": "invalid_request_error",
        "param": "x",
        "code": "invalid_value",
    }
    assert set(rig.outcomes(unavailable).values()) == {"failed"}
    with rig.engine.connect() as conn:
        stored = dict(conn.execute(select(results.c.request_id, results.c.status_code)).all())
        states = dict(conn.execute(select(requests.c.request_id, requests.c.state)).all())
    assert stored == {pinned.request_id: 503, plain.request_id: 503, refused.request_id: 400}
    assert set(states.values()) == {"failed"}
