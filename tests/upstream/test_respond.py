"""The upstream edge's synchronous call (the deadline fallback's) against the simulator: the provider's object and
request id, flex echoed as OpenAI does, streaming fields removed, and failures in the one error tree."""

from __future__ import annotations

import pytest

from batchgpt.simulator.answers import expected_chat_content
from batchgpt.simulator.testing import RunningSimulator
from batchgpt.upstream import OpenAIUpstream, UpstreamRejected, UpstreamTransient

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello flex"}]}


async def test_a_chat_call_answers_the_completion_with_its_request_id(upstream: OpenAIUpstream) -> None:
    answer = await upstream.respond(CHAT, {**BODY, "stream": True, "stream_options": {"include_usage": True}})
    assert answer.status == 200 and answer.request_id
    assert answer.body["object"] == "chat.completion"  # not streamed: the stream fields stay here
    assert answer.body["choices"][0]["message"]["content"] == expected_chat_content(BODY)
    assert answer.body["service_tier"] == "default"


@pytest.mark.parametrize("endpoint", [CHAT, "/v1/responses"])
async def test_flex_is_asked_for_in_the_body_and_echoed(upstream: OpenAIUpstream, endpoint: str) -> None:
    body = BODY if endpoint == CHAT else {"model": "gpt-4o-mini", "input": "hello flex"}
    answer = await upstream.respond(endpoint, {**body, "service_tier": "flex"})
    assert answer.body["service_tier"] == "flex"


async def test_an_error_status_is_rejected_or_transient_with_the_providers_body(
    upstream: OpenAIUpstream, sim: RunningSimulator
) -> None:
    with pytest.raises(UpstreamRejected) as rejected:
        await upstream.respond(CHAT, {"model": "gpt-4o-mini"})  # no messages
    assert rejected.value.status == 400 and rejected.value.body is not None and "message" in rejected.value.body
    sim.inject(kind="http_error", route="chat.completions", status=503, count=1, retry_after_seconds=0.5)
    with pytest.raises(UpstreamTransient) as transient:
        await upstream.respond(CHAT, BODY)
    assert transient.value.status == 503 and transient.value.retry_after_s == 0.5
    assert sim.stats()["api_calls"]["chat.completions"] == 2  # one call each: the edge never retries by itself
