"""The OpenAI edge against the simulator: submit and find by metadata, retrieve, cancel, result lines,
delete files, and the translation of every failure into the one error tree (SDK retries off)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from openai import AsyncOpenAI

from batchgpt.simulator.testing import RunningSimulator, free_port
from batchgpt.upstream import (
    METADATA_KEY,
    OpenAIUpstream,
    Upstream,
    UpstreamBatch,
    UpstreamConflict,
    UpstreamError,
    UpstreamRejected,
    UpstreamTransient,
    submit,
)
from schemas import BatchStatus
from tests.support.waiting import async_wait_for

CHAT = "/v1/chat/completions"


def _lines(*custom_ids: str) -> bytes:
    return b"".join(
        json.dumps({"custom_id": cid, "method": "POST", "url": CHAT,
                    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": cid}]}}).encode() + b"\n"
        for cid in custom_ids
    )


async def _terminal(upstream: Upstream, upstream_batch_id: str) -> UpstreamBatch:
    async def done() -> UpstreamBatch | None:
        batch = await upstream.retrieve(upstream_batch_id)
        return batch if batch.status.is_terminal else None

    return await async_wait_for(done, timeout_s=10, interval_s=0.02, what="the batch to end")


def _raw_calls(sim: RunningSimulator) -> dict[str, Any]:
    stats = sim.stats()
    assert stats["retried_calls"] == 0  # the SDK's own retries are off, whatever the client was built with
    calls: dict[str, Any] = stats["api_calls"]
    return calls


async def test_a_submitted_batch_is_found_by_metadata_and_its_results_read_line_by_line(
    upstream: OpenAIUpstream, sim: RunningSimulator
) -> None:
    started = time.time()
    assert await upstream.find("bg_ours", not_before=started) is None
    staged = await upstream.stage("bg_ours", _lines("a", "b"))
    assert staged.batch_id == "bg_ours" and staged.input_file_id and staged.lines is None
    created = await upstream.create(staged, endpoint=CHAT, model="gpt-4o-mini")
    assert created.status is BatchStatus.VALIDATING and created.input_file_id == staged.input_file_id
    assert created.created_at >= int(started) and created.total in (0, 2)
    other = await submit(upstream, "bg_other", _lines("c"), endpoint=CHAT, model="gpt-4o-mini")

    found = await upstream.find("bg_ours", not_before=started)
    assert found is not None and found.id == created.id
    found_other = await upstream.find("bg_other", not_before=started)
    assert found_other is not None and found_other.id == other.id
    assert await upstream.find("bg_nobody", not_before=started) is None

    done = await _terminal(upstream, created.id)
    assert done.status is BatchStatus.COMPLETED and done.terminal_at is not None
    assert (done.total, done.completed, done.failed) == (2, 2, 0)
    assert done.output_file_id and done.error_file_id is None and done.errors is None
    assert done.input_tokens and done.output_tokens
    lines = [json.loads(line) async for line in upstream.result_lines(done.output_file_id)]
    assert sorted(line["custom_id"] for line in lines) == ["a", "b"]
    assert all(line["response"]["status_code"] == 200 for line in lines)
    details = {d["id"]: d for d in sim.stats()["batch_details"]}
    assert details[created.id]["input_file_id"] == staged.input_file_id
    _raw_calls(sim)


async def test_find_stops_at_batches_older_than_the_margin(upstream: OpenAIUpstream, sim: RunningSimulator) -> None:
    created = await submit(upstream, "bg_old", _lines("a"), endpoint=CHAT, model="gpt-4o-mini")
    assert created.id
    # searching for a batch created long after every listed one: the first page's oldest is too old to go on
    assert await upstream.find("bg_missing", not_before=time.time() + 86_400) is None
    assert _raw_calls(sim)["batches.list"] == 1


async def test_a_429_is_transient_and_carries_retry_after_code_and_body(
    upstream: OpenAIUpstream, sim: RunningSimulator
) -> None:
    staged = await upstream.stage("bg_429", _lines("a"))
    sim.inject(kind="http_error", route="batches.create", status=429, count=1, retry_after_seconds=0.05)
    with pytest.raises(UpstreamTransient) as caught:
        await upstream.create(staged, endpoint=CHAT, model="gpt-4o-mini")
    error = caught.value
    assert (error.status, error.kind, error.transient, error.operation) == (429, "transient", True, "batches.create")
    assert error.retry_after_s == 0.05  # retry-after-ms wins over the rounded retry-after
    assert error.code == "rate_limit_exceeded" and error.body is not None and error.body["type"] == "requests"
    assert error.resource == staged.input_file_id
    created = await upstream.create(staged, endpoint=CHAT, model="gpt-4o-mini")  # the same staged input, again
    assert created.id and _raw_calls(sim)["batches.create"] == 2 and _raw_calls(sim)["files.create"] == 1


@pytest.mark.parametrize("status", [500, 503, 408])
async def test_5xx_and_408_are_transient_without_an_sdk_retry(
    upstream: OpenAIUpstream, sim: RunningSimulator, status: int
) -> None:
    sim.inject(kind="http_error", route="files.create", status=status, count=1)
    with pytest.raises(UpstreamTransient) as caught:
        await upstream.stage("bg_5xx", _lines("a"))
    assert (caught.value.status, caught.value.operation, caught.value.retry_after_s) == (status, "files.create", None)
    assert _raw_calls(sim)["files.create"] == 1


async def test_other_4xx_are_rejected_with_the_upstream_code(upstream: OpenAIUpstream, sim: RunningSimulator) -> None:
    staged = await upstream.stage("bg_400", _lines("a"))
    sim.inject(kind="http_error", route="batches.create", status=400, count=1, code="invalid_value",
               message="Invalid value for 'endpoint'.")
    with pytest.raises(UpstreamRejected) as caught:
        await upstream.create(staged, endpoint=CHAT, model="gpt-4o-mini")
    error = caught.value
    assert (error.status, error.code, error.kind, error.transient) == (400, "invalid_value", "rejected", False)
    assert error.body is not None and error.body["message"] == "Invalid value for 'endpoint'."
    assert "Invalid value for 'endpoint'." in str(error)
    with pytest.raises(UpstreamRejected) as unknown:
        await upstream.retrieve("batch_nope")
    assert (unknown.value.status, unknown.value.operation, unknown.value.resource) == (
        404, "batches.retrieve", "batch_nope")
    with pytest.raises(UpstreamRejected) as empty:  # refused by the SDK before anything is sent
        await upstream.retrieve("")
    assert empty.value.status is None and empty.value.operation == "batches.retrieve"


async def test_cancelling_a_finished_batch_is_a_conflict(upstream: OpenAIUpstream) -> None:
    created = await submit(upstream, "bg_409", _lines("a"), endpoint=CHAT, model="gpt-4o-mini")
    await _terminal(upstream, created.id)
    with pytest.raises(UpstreamConflict) as caught:
        await upstream.cancel(created.id)
    error = caught.value
    assert isinstance(error, UpstreamRejected) and error.kind == "conflict" and not error.transient
    assert (error.status, error.operation, error.resource) == (409, "batches.cancel", created.id)


async def test_cancelling_a_running_batch_returns_it_cancelling(upstream: OpenAIUpstream) -> None:
    created = await submit(upstream, "bg_cancel", _lines("a [sim:slow]"), endpoint=CHAT, model="gpt-4o-mini")
    cancelled = await upstream.cancel(created.id)
    assert cancelled.id == created.id and cancelled.status in (BatchStatus.CANCELLING, BatchStatus.CANCELLED)
    assert (await _terminal(upstream, created.id)).status is BatchStatus.CANCELLED


async def test_a_connection_error_is_transient_without_a_status() -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    edge = OpenAIUpstream(AsyncOpenAI(base_url=closed, api_key="sk-test", max_retries=2, timeout=5))
    try:
        for call in (edge.stage("bg_x", _lines("a")), edge.find("bg_x", not_before=0.0), edge.retrieve("batch_x")):
            with pytest.raises(UpstreamTransient) as caught:
                await call
            assert caught.value.status is None and caught.value.retry_after_s is None
            assert "connection error" in str(caught.value)
        with pytest.raises(UpstreamTransient) as streaming:
            [line async for line in edge.result_lines("file-x")]
        assert (streaming.value.operation, streaming.value.resource) == ("files.content", "file-x")
    finally:
        await edge.close()


async def test_a_result_file_that_is_gone_is_a_404_naming_the_file_and_delete_is_idempotent(
    upstream: OpenAIUpstream, sim: RunningSimulator
) -> None:
    staged = await upstream.stage("bg_files", _lines("a"))
    assert staged.input_file_id is not None
    assert [json.loads(line)["custom_id"] async for line in upstream.result_lines(staged.input_file_id)] == ["a"]
    await upstream.delete_file(staged.input_file_id)
    await upstream.delete_file(staged.input_file_id)  # already gone: nothing to do
    with pytest.raises(UpstreamError) as caught:
        [line async for line in upstream.result_lines(staged.input_file_id)]
    assert (caught.value.status, caught.value.operation, caught.value.resource) == (
        404, "files.content", staged.input_file_id)
    assert sim.stats()["files"] == 0
    sim.inject(kind="http_error", route="files.delete", status=500, count=1)
    with pytest.raises(UpstreamTransient):
        await upstream.delete_file("file-any")


async def test_the_metadata_names_our_batch_id(upstream: OpenAIUpstream, sim: RunningSimulator) -> None:
    created = await submit(upstream, "bg_meta", _lines("a"), endpoint=CHAT, model="gpt-4o-mini")
    client = AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
    try:
        raw = await client.batches.retrieve(created.id)
    finally:
        await client.close()
    assert raw.metadata == {METADATA_KEY: "bg_meta"} and raw.completion_window == "24h"
