"""End to end, through the official SDK (default retries): one bad line never hurts its neighbours. When the
provider fails a batch at validation because of one line, that caller gets the 400 and the others are
answered normally (resubmitted once, in a new batch); a failure that blames every line or no line answers all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_chat_content

pytestmark = pytest.mark.integration

MODEL = "gpt-4o-mini"


def _body(prompt: str) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": f"{prompt} {uuid.uuid4().hex}"}]}


async def test_four_good_callers_are_answered_and_the_bad_one_gets_400(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=1500)
    client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", timeout=120)
    good = [_body(f"good caller {i}") for i in range(4)]
    bad = _body("bad caller [sim:invalid=invalid_value]")
    calls = [client.chat.completions.create(**body) for body in (good[0], good[1], bad, good[2], good[3])]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    await client.close()

    refused = outcomes[2]
    assert isinstance(refused, openai.BadRequestError), refused
    assert refused.status_code == 400
    assert isinstance(refused.body, dict) and refused.body["code"] == "invalid_value"
    assert refused.body["param"] == "body" and refused.body["type"] == "invalid_request_error"
    answered = [outcome for i, outcome in enumerate(outcomes) if i != 2]
    for body, reply in zip(good, answered, strict=True):
        assert not isinstance(reply, BaseException), reply
        assert reply.choices[0].message.content == expected_chat_content(body)

    # upstream: the bad line went up once; each neighbour in its batch twice (the failed batch ran nothing, then
    # its resubmission); nothing ran twice
    stats = stack.simulator.stats()
    submissions: dict[str, int] = stats["custom_id_submissions"]
    resubmitted = sum(1 for n in submissions.values() if n == 2)
    assert len(submissions) == 5 and set(submissions.values()) <= {1, 2} and resubmitted >= 1
    assert stats["lines_submitted"] == 5 + resubmitted
    assert stats["duplicate_executions"] == [] and stats["lines_executed"] == 4
    assert stats["batches_by_status"].get("failed") == 1


def test_a_failure_blaming_every_line_or_none_answers_every_caller(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=1000)
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", timeout=120)

    def one(body: dict[str, Any]) -> BaseException | None:
        try:
            client.chat.completions.create(**body)
        except openai.APIStatusError as exc:
            return exc
        return None

    def call_all(bodies: list[dict[str, Any]]) -> list[BaseException | None]:
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            return list(pool.map(one, bodies))

    # every line blamed: each caller gets its own line's error, nothing is resubmitted
    every = call_all([_body(f"all bad {i} [sim:invalid=model_not_found]") for i in range(3)])
    for error in every:
        assert isinstance(error, openai.BadRequestError), error
        assert isinstance(error.body, dict) and error.body["code"] == "model_not_found"
    assert stack.simulator.stats()["lines_submitted"] == 3

    # no line blamed (a batch-level error): every caller gets it, nothing is resubmitted
    stack.simulator.inject(
        kind="batch",
        outcome="fail_validation",
        count=3,
        code="model_not_found",
        message="The provided model is not supported by the Batch API.",
    )
    none = call_all([_body(f"batch-level {i}") for i in range(3)])
    client.close()
    for error in none:
        assert isinstance(error, openai.BadRequestError), error
        assert isinstance(error.body, dict) and error.body["code"] == "model_not_found"
        assert error.body["message"] == "The provided model is not supported by the Batch API."
    stats = stack.simulator.stats()
    assert stats["lines_submitted"] == 6 and stats["duplicate_custom_ids"] == []
