"""End to end with the official SDK's default retries: a batch slower than the client's timeout is answered
without a 202 (the retry re-attaches), and the answer carries the batch line's upstream request id."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import OpenAI

from batchgpt.devstack.stack import Stack
from batchgpt.simulator.answers import expected_chat_content

pytestmark = pytest.mark.integration


def _line_request_id(simulator_url: str, custom_id: str) -> str | None:
    """The ``response.request_id`` of the simulator's output line for ``custom_id``."""
    upstream = OpenAI(base_url=simulator_url, api_key="sk-e2e", max_retries=0)
    for batch in upstream.batches.list(limit=100):
        if not batch.output_file_id:
            continue
        for raw in upstream.files.content(batch.output_file_id).text.splitlines():
            line = json.loads(raw)
            if line["custom_id"] == custom_id:
                return str(line["response"]["request_id"])
    return None


def test_a_batch_slower_than_the_sdk_timeout_is_answered_through_its_retry(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(
        window_ms=300, simulator_flags={"in_progress_seconds": 2.5}, extra_env={"BATCHGPT_RETRY_AFTER_S": "1"}
    )
    statuses: list[int] = []

    def record(response: Any) -> None:
        statuses.append(response.status_code)

    http_client = openai.DefaultHttpxClient(event_hooks={"response": [record]})
    client = OpenAI(base_url=stack.base_url, api_key="sk-any", timeout=2.0, http_client=http_client)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "slower than my timeout"}]}
    raw = client.chat.completions.with_raw_response.create(**body)
    completion = raw.parse()
    assert completion.choices[0].message.content == expected_chat_content(body)
    assert statuses[0] == 504 and 202 not in statuses and statuses[-1] == 200
    assert stack.simulator.stats()["lines_submitted"] == 1, "the SDK's retries re-attached"
    upstream_id = _line_request_id(stack.simulator.base_url, raw.headers["batchgpt-request-id"])
    assert upstream_id and completion._request_id == upstream_id
