"""Planning and lines of the Responses, completions and moderations endpoints (pure, no broker)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from collator.lines import jsonl_line
from collator.planning import plan_window
from schemas.messages import RequestMessage
from schemas.status import Endpoint


def _req(rid: str, endpoint: Endpoint, body: dict[str, object]) -> RequestMessage:
    return RequestMessage(request_id=rid, endpoint=endpoint, body=body)


def test_each_endpoint_is_its_own_batch_and_its_lines_name_its_url() -> None:
    requests = [
        _req("r1", Endpoint.RESPONSES, {"model": "gpt-4o-mini", "input": "a", "stream": True}),
        _req("c1", Endpoint.COMPLETIONS, {"model": "gpt-4o-mini", "prompt": "b", "stream_options": {}}),
        _req("r2", Endpoint.RESPONSES, {"model": "gpt-4o-mini", "input": "c"}),
        _req("m1", Endpoint.MODERATIONS, {"model": "omni-moderation-latest", "input": "d"}),
    ]
    plan = plan_window(requests, max_requests=100, max_bytes=10_000)
    groups = [(p.endpoint, p.model, [m.request_id for m in p.members]) for p in plan.batches]
    assert groups == [
        ("/v1/responses", "gpt-4o-mini", ["r1", "r2"]),
        ("/v1/completions", "gpt-4o-mini", ["c1"]),
        ("/v1/moderations", "omni-moderation-latest", ["m1"]),
    ]
    lines = [json.loads(line) for line in plan.batches[0].content.splitlines()]
    assert [line["url"] for line in lines] == ["/v1/responses", "/v1/responses"]
    assert lines[0]["body"] == {"model": "gpt-4o-mini", "input": "a"}  # stream removed, nothing else
    assert json.loads(jsonl_line(requests[1]))["body"] == {"model": "gpt-4o-mini", "prompt": "b"}


def test_moderations_without_a_model_are_batched_apart_and_sent_without_one() -> None:
    requests = [
        _req("m1", Endpoint.MODERATIONS, {"input": "a"}),
        _req("m2", Endpoint.MODERATIONS, {"model": "omni-moderation-latest", "input": "b"}),
        _req("m3", Endpoint.MODERATIONS, {"input": "c"}),
    ]
    plan = plan_window(requests, max_requests=100, max_bytes=10_000)
    assert [(p.model, [m.request_id for m in p.members]) for p in plan.batches] == [
        ("", ["m1", "m3"]),
        ("omni-moderation-latest", ["m2"]),
    ]
    assert json.loads(jsonl_line(requests[0]))["body"] == {"input": "a"}


@pytest.mark.parametrize("endpoint", [Endpoint.RESPONSES, Endpoint.COMPLETIONS, Endpoint.CHAT_COMPLETIONS])
def test_a_model_is_still_required_where_the_api_requires_one(endpoint: Endpoint) -> None:
    with pytest.raises(ValidationError, match="body.model"):
        _req("x", endpoint, {"input": "a"})
    with pytest.raises(ValidationError, match="body.model"):
        _req("x", Endpoint.MODERATIONS, {"input": "a", "model": ""})
