"""Pure window planning: grouping, caps, deterministic ids and JSONL lines (no broker)."""

from __future__ import annotations

import json

import pytest

from collator.lines import jsonl_line
from collator.planning import (
    ANTHROPIC_CAPS,
    MAX_EMBEDDING_INPUTS,
    BatchCaps,
    batch_id_for,
    embedding_inputs,
    plan_window,
)
from schemas.messages import RequestMessage
from schemas.status import Endpoint, Provider


def _req(rid: str, model: str = "gpt-4o-mini", tenant: str = "default", endpoint: Endpoint = Endpoint.CHAT_COMPLETIONS,
         attempt: int = 0, **body: object) -> RequestMessage:
    payload = {"model": model, "messages": [{"role": "user", "content": rid}], **body}
    if endpoint == Endpoint.EMBEDDINGS:
        payload = {"model": model, "input": rid}
    return RequestMessage(request_id=rid, body=payload, tenant=tenant, endpoint=endpoint, attempt=attempt)


def test_one_batch_per_tenant_endpoint_and_model_in_arrival_order():
    requests = [
        _req("a", "m1"), _req("b", "m2"), _req("c", "m1"), _req("d", "m1", tenant="t2"),
        _req("e", "m1", endpoint=Endpoint.EMBEDDINGS),
    ]
    plan = plan_window(requests, max_requests=100, max_bytes=10_000)
    groups = [(p.tenant, p.endpoint, p.model, [line.request.request_id for line in p.lines]) for p in plan.batches]
    assert groups == [
        ("default", "/v1/chat/completions", "m1", ["a", "c"]),
        ("default", "/v1/chat/completions", "m2", ["b"]),
        ("t2", "/v1/chat/completions", "m1", ["d"]),
        ("default", "/v1/embeddings", "m1", ["e"]),
    ]
    assert plan.oversized == ()


def test_request_cap_cuts_a_group_into_consecutive_chunks():
    plan = plan_window([_req(str(i)) for i in range(7)], max_requests=3, max_bytes=10_000)
    assert [[line.request.request_id for line in p.lines] for p in plan.batches] == [
        ["0", "1", "2"], ["3", "4", "5"], ["6"]]


def test_byte_cap_counts_the_jsonl_bytes_of_the_lines():
    requests = [_req(f"r{i}") for i in range(5)]
    size = len(jsonl_line(requests[0]))
    plan = plan_window(requests, max_requests=100, max_bytes=2 * size)
    assert [len(p.lines) for p in plan.batches] == [2, 2, 1]
    assert all(p.byte_count <= 2 * size for p in plan.batches)
    assert all(p.byte_count == len(p.content) for p in plan.batches)


def test_a_line_larger_than_the_byte_cap_is_set_aside():
    small, big = _req("s"), _req("b", extra="x" * 500)
    plan = plan_window([small, big], max_requests=100, max_bytes=len(jsonl_line(small)) + 10)
    assert [line.request.request_id for line in plan.oversized] == ["b"]
    assert [line.request.request_id for p in plan.batches for line in p.lines] == ["s"]


def test_batch_id_depends_only_on_the_members():
    assert batch_id_for([("a", 0), ("b", 0)]) == batch_id_for([("b", 0), ("a", 0)])
    assert batch_id_for([("a", 0)]) != batch_id_for([("a", 1)])
    assert batch_id_for([("a", 0)]).startswith("bg_") and len(batch_id_for([("a", 0)])) == 35
    first = plan_window([_req("x"), _req("y")], max_requests=10, max_bytes=10_000).batches[0]
    second = plan_window([_req("y"), _req("x")], max_requests=10, max_bytes=10_000).batches[0]
    assert first.batch_id == second.batch_id


def test_jsonl_line_passes_the_body_through_except_streaming_fields():
    request = _req("r1", temperature=0, stream=True, stream_options={"include_usage": True}, custom_field={"k": 1})
    line = jsonl_line(request)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    parsed = json.loads(line)
    assert parsed["custom_id"] == "r1"
    assert parsed["method"] == "POST"
    assert parsed["url"] == "/v1/chat/completions"
    assert parsed["body"] == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "r1"}],
                              "temperature": 0, "custom_field": {"k": 1}}


def test_caps_must_be_positive():
    with pytest.raises(ValueError):
        plan_window([], max_requests=0, max_bytes=10)
    with pytest.raises(ValueError):
        plan_window([], max_requests=10, max_bytes=10, max_inputs=0)


def _embed(rid: str, inputs: object) -> RequestMessage:
    return RequestMessage(
        request_id=rid, body={"model": "text-embedding-3-small", "input": inputs}, endpoint=Endpoint.EMBEDDINGS
    )


def test_embedding_inputs_count_the_items_of_a_list_input():
    assert embedding_inputs({"input": "one text"}) == 1
    assert embedding_inputs({"input": ["a", "b", "c"]}) == 3
    assert embedding_inputs({"input": [1, 2, 3, 4]}) == 1  # one input given as token ids
    assert embedding_inputs({"input": [[1, 2], [3], [4, 5, 6]]}) == 3
    assert embedding_inputs({"input": []}) == 0
    assert MAX_EMBEDDING_INPUTS == 50_000


def test_embeddings_batches_are_cut_by_the_sum_of_their_inputs():
    requests = [_embed("a", ["x"] * 3), _embed("b", ["x"] * 4), _embed("c", "x"), _embed("d", ["x"] * 5),
                _embed("e", [7, 8, 9])]
    plan = plan_window(requests, max_requests=100, max_bytes=100_000, max_inputs=5)
    assert [[line.request.request_id for line in p.lines] for p in plan.batches] == [["a"], ["b", "c"], ["d"], ["e"]]
    assert [sum(line.inputs for line in p.lines) for p in plan.batches] == [3, 5, 5, 1]


def test_the_inputs_cap_defaults_to_openai_s_and_leaves_other_endpoints_alone():
    big = [_embed(f"e{i}", ["x"] * 2048) for i in range(25)]  # 51,200 inputs in 25 lines
    plan = plan_window(big, max_requests=50_000, max_bytes=10**9)
    assert [len(p.lines) for p in plan.batches] == [24, 1]
    chats = [_req(f"c{i}", input=["x"] * 10) for i in range(5)]
    assert [len(p.lines) for p in plan_window(chats, max_requests=100, max_bytes=100_000, max_inputs=1).batches] == [5]


def test_an_embeddings_line_above_the_inputs_cap_goes_alone_in_its_batch():
    plan = plan_window([_embed("s", "x"), _embed("h", ["x"] * 9), _embed("t", "y")], max_requests=100,
                       max_bytes=100_000, max_inputs=4)
    assert [[line.request.request_id for line in p.lines] for p in plan.batches] == [["s"], ["h"], ["t"]]
    assert plan.oversized == ()


def _message(rid: str, model: str = "claude-test-model", tenant: str = "default") -> RequestMessage:
    body = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": rid}]}
    return RequestMessage(request_id=rid, body=body, tenant=tenant, endpoint=Endpoint.MESSAGES)


def test_anthropic_requests_are_batched_apart_by_model_and_under_anthropics_caps():
    requests = [_message("a"), _req("b", "claude-test-model"), _message("c", "claude-other"), _message("d")]
    plan = plan_window(requests, max_requests=1, max_bytes=10_000)  # the OpenAI caps do not bind Anthropic
    groups = [(p.provider.value, p.endpoint, p.model, [r.request_id for r in p.members]) for p in plan.batches]
    assert groups == [
        ("anthropic", "/v1/messages", "claude-test-model", ["a", "d"]),
        ("openai", "/v1/chat/completions", "claude-test-model", ["b"]),
        ("anthropic", "/v1/messages", "claude-other", ["c"]),
    ]
    assert ANTHROPIC_CAPS == BatchCaps(max_requests=100_000, max_bytes=255_000_000)
    tight = plan_window(
        [_message(str(n)) for n in range(5)], max_requests=50, max_bytes=10_000,
        provider_caps={Provider.ANTHROPIC: BatchCaps(max_requests=2, max_bytes=10_000)},
    )
    assert [len(p.members) for p in tight.batches] == [2, 2, 1]
