"""Deadlines through the whole pipeline, with the official SDK as the caller: a request still queued at its
deadline and one already in a running batch are answered once by the fallback (the late batch line recorded, never
delivered), also when the resolver is killed between its claim and the answer; with ``none`` the call waits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from sqlalchemy import Engine, select

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_chat_content
from batchgpt.store.engine import make_engine
from batchgpt.store.tables import batch_members, late_lines, requests, results
from schemas.topics import TopicNames
from tests.resolver.topic_reader import TopicReader
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

FAST = {"BATCHGPT_DEADLINE_SCAN_S": "0.2"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The stack's database (its default SQLite file)."""
    made = make_engine(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    try:
        yield made
    finally:
        made.dispose()


@pytest.fixture
def replies(kafka_bootstrap: str, unique_id: str) -> Callable[[str], int]:
    """How many replies the stack's resolver produced for a request (read once its first one is there)."""

    def count(request_id: str) -> int:
        with TopicReader(kafka_bootstrap, TopicNames(f"e{unique_id}.").replies) as reader:
            wait_for(lambda: any(r.request_id == request_id for r in reader.replies()), timeout_s=15, what="a reply")
            return sum(1 for reply in reader.replies() if reply.request_id == request_id)

    return count


def _body(text: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def _call(stack: Stack, text: str, deadline: str) -> tuple[str, Any, float]:
    """One SDK call with ``Batchgpt-Deadline``: its batch-gpt request id, the completion and how long it took."""
    client = OpenAI(base_url=stack.base_url, api_key="sk-test", timeout=60)
    started = time.monotonic()
    raw = client.chat.completions.with_raw_response.create(**_body(text), extra_headers={"Batchgpt-Deadline": deadline})
    completion = raw.parse()
    assert completion.choices[0].message.content == expected_chat_content(_body(text))
    return raw.headers["batchgpt-request-id"], completion, time.monotonic() - started


def _one(engine: Engine, query: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).first()


def _answered_by(engine: Engine, request_id: str) -> str | None:
    row = _one(engine, select(results.c.answered_by).where(results.c.request_id == request_id))
    return row.answered_by if row is not None else None


def test_a_request_still_queued_at_its_deadline_is_answered_by_the_synchronous_call(
    stack_factory: Callable[..., Stack], engine: Engine, replies: Callable[[str], int]
) -> None:
    stack = stack_factory(window_ms=8000, extra_env={"BATCHGPT_DEADLINE_FALLBACK": "sync", **FAST})
    request_id, completion, took = _call(stack, "queued past its deadline", "1")
    assert 1 <= took < 6  # long before the 8 s window closes
    assert completion.service_tier == "default"
    assert _answered_by(engine, request_id) == "sync"
    assert wait_for(lambda: "left the window" in stack.logs("collator"), timeout_s=30, what="the window to close")
    stats = stack.simulator.stats()
    assert stats["lines_submitted"] == 0 and stats["api_calls"]["chat.completions"] == 1  # never a batch line
    assert _one(engine, select(batch_members).where(batch_members.c.request_id == request_id)) is None
    assert _one(engine, select(requests.c.state).where(requests.c.request_id == request_id)).state == "completed"
    assert replies(request_id) == 1


def test_a_request_in_a_running_batch_is_answered_by_flex_and_its_late_line_recorded_not_delivered(
    stack_factory: Callable[..., Stack], engine: Engine, replies: Callable[[str], int]
) -> None:
    stack = stack_factory(
        window_ms=200,
        simulator_flags={"in_progress_seconds": 8},
        extra_env={"BATCHGPT_DEADLINE_FALLBACK": "flex", **FAST},
    )
    request_id, completion, took = _call(stack, "submitted past its deadline", "2")
    assert 2 <= took < 8  # before the batch ends
    assert completion.service_tier == "flex"  # answered at batch price
    assert _answered_by(engine, request_id) == "flex"
    late = wait_for(
        lambda: _one(engine, select(late_lines).where(late_lines.c.request_id == request_id)),
        timeout_s=40,
        what="the batch line to come back",
    )
    assert late.status_code == 200 and json.loads(late.body)["object"] == "chat.completion"  # the batch's own answer
    member = _one(engine, select(batch_members.c.outcome).where(batch_members.c.request_id == request_id))
    assert member.outcome == "late"
    stats = stack.simulator.stats()
    assert stats["custom_id_submissions"] == {request_id: 1} and stats["api_calls"]["chat.completions"] == 1
    assert replies(request_id) == 1  # the fallback's; the batch line was never delivered


def test_exactly_one_answer_when_the_resolver_dies_between_its_claim_and_the_answer(
    stack_factory: Callable[..., Stack], database_url: str, replies: Callable[[str], int]
) -> None:
    stack = stack_factory(
        database_url=database_url,
        window_ms=8000,
        extra_env={
            "BATCHGPT_DEADLINE_FALLBACK": "sync",
            "BATCHGPT_TEST_CRASH_AT": "fallback_claimed",
            "BATCHGPT_RESOLVER_LEASE_S": "2",
            **FAST,
        },
    )
    engine = make_engine(database_url)
    try:
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(_call, stack, "claimed then killed", "1")
            assert wait_for(lambda: stack.procs["resolver"].exited(), timeout_s=30, what="the resolver to be killed")
            claimed = _one(engine, select(requests.c.request_id, requests.c.fallback_owner, requests.c.state))
            assert claimed.fallback_owner and claimed.state == "queued"
            assert _answered_by(engine, claimed.request_id) is None  # claimed, never answered
            stack.env.pop("BATCHGPT_TEST_CRASH_AT")
            stack.restart("resolver")
            request_id, _completion, _took = call.result(timeout=60)
        assert request_id == claimed.request_id
        assert _answered_by(engine, request_id) == "sync"
    finally:
        engine.dispose()
    assert stack.simulator.stats()["api_calls"]["chat.completions"] == 1  # the killed resolver never called
    assert replies(request_id) == 1


def test_without_a_fallback_the_deadline_changes_nothing_and_a_bad_one_is_refused(
    stack_factory: Callable[..., Stack], engine: Engine
) -> None:
    stack = stack_factory(window_ms=200, simulator_flags={"in_progress_seconds": 3})
    request_id, completion, took = _call(stack, "no fallback", "1")
    assert took >= 3  # waited for its batch, past the deadline
    assert completion.service_tier == "default"
    assert _answered_by(engine, request_id) == "batch"
    assert "chat.completions" not in stack.simulator.stats()["api_calls"]
    for bad in ("soon", "0", "-5", "nan"):
        refused = httpx.post(
            f"{stack.base_url}/chat/completions", json=_body("bad"), headers={"Batchgpt-Deadline": bad}, timeout=10
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "Batchgpt-Deadline"
