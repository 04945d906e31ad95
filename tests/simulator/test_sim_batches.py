"""Batches API through the official SDK: lifecycle, shapes, results, cancel, list, 404/409, create errors."""

from __future__ import annotations

import asyncio
import re

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from batchgpt.simulator.answers import expected_chat_content, expected_embedding
from batchgpt.simulator.testing import RunningSimulator, run_simulator, wait_until

from .batch_inputs import (
    CHAT,
    EMBEDDINGS,
    async_wait_status,
    chat_body,
    chat_line,
    embedding_line,
    jsonl,
    read_lines,
    submit,
    upload,
    wait_status,
)

BATCH_KEYS = {
    "id",
    "object",
    "endpoint",
    "model",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "metadata",
    "usage",
}


def test_batch_runs_to_completed_and_every_caller_gets_its_own_answer(client: OpenAI) -> None:
    prompts = {f"req-{i}": f"question number {i}" for i in range(20)}
    created = submit(client, [chat_line(cid, text) for cid, text in prompts.items()], metadata={"job": "t1"})
    assert created.id.startswith("batch_") and created.status == "validating"
    assert created.request_counts.total == 0 and created.model is None and created.metadata == {"job": "t1"}
    assert created.expires_at == created.created_at + 86400

    done = wait_status(client, created.id)
    assert done.status == "completed" and done.model == "gpt-4o-mini" and done.errors is None
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    assert done.failed_at is done.expired_at is done.cancelling_at is done.cancelled_at is None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (
        20,
        20,
        0,
    )
    assert done.error_file_id is None

    lines = read_lines(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in lines) == sorted(prompts)
    for line in lines:
        assert line["error"] is None and line["id"].startswith("batch_req_")
        response = line["response"]
        assert response["status_code"] == 200 and re.fullmatch(r"req_[0-9a-f]{32}", response["request_id"])
        completion = response["body"]
        assert completion["object"] == "chat.completion" and completion["id"].startswith("chatcmpl-")
        expected = expected_chat_content(chat_body(prompts[line["custom_id"]]))
        assert completion["choices"][0]["message"]["content"] == expected
    usage = done.usage
    assert usage is not None
    assert usage.input_tokens == sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in lines)
    assert usage.output_tokens == sum(line["response"]["body"]["usage"]["completion_tokens"] for line in lines)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens > 0

    output = client.files.retrieve(done.output_file_id)
    assert output.purpose == "batch_output" and output.expires_at == output.created_at + 30 * 24 * 3600


def test_output_order_is_shuffled_and_switchable(client: OpenAI) -> None:
    ids = [f"r{i:02d}" for i in range(30)]
    done = wait_status(client, submit(client, [chat_line(cid, cid) for cid in ids]).id)
    assert [line["custom_id"] for line in read_lines(client, done.output_file_id)] != ids
    with run_simulator(
        validating_seconds=0.0, in_progress_seconds=0.0, finalizing_seconds=0.0, shuffle_output=False
    ) as ordered:
        with OpenAI(base_url=ordered.base_url, api_key="k", max_retries=0) as other:
            kept = wait_status(other, submit(other, [chat_line(cid, cid) for cid in ids]).id)
            assert [line["custom_id"] for line in read_lines(other, kept.output_file_id)] == ids


def test_batch_object_emits_every_field_with_nulls(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(validating_seconds=60)
    batch = submit(client, [chat_line("a", "x")])
    raw = httpx.get(f"{sim.base_url}/batches/{batch.id}", headers={"Authorization": "Bearer k"}).json()
    assert set(raw) == BATCH_KEYS
    assert raw["errors"] is None and raw["output_file_id"] is None and raw["in_progress_at"] is None
    assert raw["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert set(raw["usage"]) == {
        "input_tokens",
        "input_tokens_details",
        "output_tokens",
        "output_tokens_details",
        "total_tokens",
    }


def test_per_line_errors_go_to_the_error_file(client: OpenAI) -> None:
    lines = [
        chat_line("good", "fine"),
        chat_line("bad", "please fail [sim:error=400]"),
        chat_line("ctx", "too long [sim:error=400:context_length_exceeded]"),
        chat_line("bad-temp", "x", temperature="hot"),
        {
            "custom_id": "no-list",
            "method": "POST",
            "url": CHAT,
            "body": {"model": "gpt-4o-mini", "messages": "hi"},
        },
    ]
    done = wait_status(client, submit(client, lines).id)
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (2, 3)
    errors = {line["custom_id"]: line for line in read_lines(client, done.error_file_id)}
    assert set(errors) == {"bad", "ctx", "no-list"}
    bad = errors["bad"]
    assert bad["error"] is None and bad["response"]["status_code"] == 400
    assert set(bad["response"]["body"]["error"]) == {"message", "type", "param", "code"}
    assert bad["response"]["body"]["error"]["type"] == "invalid_request_error"
    assert errors["ctx"]["response"]["body"]["error"]["code"] == "context_length_exceeded"
    assert errors["no-list"]["response"]["body"]["error"]["param"] == "messages"
    assert {line["custom_id"] for line in read_lines(client, done.output_file_id)} == {"good", "bad-temp"}


def test_all_lines_failing_leaves_no_output_file(client: OpenAI) -> None:
    done = wait_status(client, submit(client, [chat_line(f"e{i}", "[sim:error=500]") for i in range(3)]).id)
    assert done.status == "completed" and done.output_file_id is None and done.error_file_id
    assert (done.request_counts.completed, done.request_counts.failed) == (0, 3)
    assert {line["response"]["status_code"] for line in read_lines(client, done.error_file_id)} == {500}


def test_empty_error_file_option() -> None:
    with run_simulator(validating_seconds=0, in_progress_seconds=0, finalizing_seconds=0, empty_error_file=True) as sim:
        with OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client:
            done = wait_status(client, submit(client, [chat_line("a", "x")]).id)
            assert done.error_file_id and client.files.content(done.error_file_id).content == b""


def test_embeddings_batch(client: OpenAI) -> None:
    lines = [embedding_line("one", "alpha"), embedding_line("two", ["beta", "gamma"])]
    done = wait_status(client, submit(client, lines, endpoint=EMBEDDINGS).id)
    assert done.status == "completed" and done.model == "text-embedding-3-small"
    results = {line["custom_id"]: line["response"]["body"] for line in read_lines(client, done.output_file_id)}
    assert results["one"]["data"][0]["embedding"] == expected_embedding("alpha", 1536)
    assert [d["embedding"] for d in results["two"]["data"]] == [
        expected_embedding("beta"),
        expected_embedding("gamma"),
    ]
    assert results["two"]["object"] == "list" and results["two"]["usage"]["prompt_tokens"] == 3
    assert done.usage is not None and done.usage.output_tokens == 0 and done.usage.input_tokens == 5


def test_list_is_newest_first_with_after_and_has_more(client: OpenAI) -> None:
    file_id = upload(client, [chat_line("a", "x")])
    ids = [client.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h").id for _ in range(5)]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == [ids[4], ids[3]] and first.has_more
    assert first.first_id == ids[4] and first.last_id == ids[3]
    second = client.batches.list(limit=2, after=ids[3])
    assert [b.id for b in second.data] == [ids[2], ids[1]]
    last = client.batches.list(limit=2, after=ids[1])
    assert [b.id for b in last.data] == [ids[0]] and not last.has_more
    assert [b.id for b in client.batches.list(limit=2)] == ids[::-1]  # the SDK's auto-pagination
    assert [b.id for b in client.batches.list()] == ids[::-1]


def test_unknown_batch_is_404(client: OpenAI) -> None:
    for call in (client.batches.retrieve, client.batches.cancel):
        with pytest.raises(openai.NotFoundError) as caught:
            call("batch_doesnotexist")
        assert caught.value.code == "batch_not_found" and "batch_doesnotexist" in caught.value.message


def test_cancel_gives_cancelling_then_cancelled_with_partial_results(client: OpenAI) -> None:
    lines = [chat_line(f"fast{i}", f"q{i}") for i in range(3)] + [chat_line("slow", "wait [sim:slow]")]
    batch = submit(client, lines)
    running = wait_status(client, batch.id, {"in_progress"})
    assert running.request_counts.total == 4
    wait_until(lambda: client.batches.retrieve(batch.id).request_counts.completed == 3, what="fast lines done")
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    assert client.batches.cancel(batch.id).status in ("cancelling", "cancelled")
    cancelled = wait_status(client, batch.id, {"cancelled"})
    assert cancelled.cancelled_at is not None and cancelled.cancelled_at >= cancelled.cancelling_at
    counts = cancelled.request_counts
    assert (counts.total, counts.completed, counts.failed) == (4, 3, 0)
    assert {line["custom_id"] for line in read_lines(client, cancelled.output_file_id)} == {
        "fast0",
        "fast1",
        "fast2",
    }
    assert cancelled.error_file_id is None
    again = client.batches.cancel(batch.id)
    assert again.status == "cancelled" and again.cancelled_at == cancelled.cancelled_at


def test_cancel_can_write_unrun_lines_as_batch_cancelled() -> None:
    with run_simulator(validating_seconds=0, in_progress_seconds=0.01, cancelled_unrun_lines="error_file") as sim:
        with OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client:
            batch = submit(client, [chat_line("fast", "x"), chat_line("slow", "[sim:slow]")])
            wait_until(lambda: client.batches.retrieve(batch.id).request_counts.completed == 1, what="fast line")
            client.batches.cancel(batch.id)
            sim.finish_cancel(batch.id)
            done = client.batches.retrieve(batch.id)
            assert done.status == "cancelled" and done.request_counts.failed == 1
            [line] = read_lines(client, done.error_file_id)
            assert line["custom_id"] == "slow" and line["response"] is None
            assert line["error"]["code"] == "batch_cancelled"


def test_cancel_while_validating_and_finish_cancel(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(validating_seconds=60, cancelling_seconds=3600)
    batch = submit(client, [chat_line("a", "x")])
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.in_progress_at is None
    cancelled = sim.finish_cancel(batch.id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["output_file_id"] is None and cancelled["error_file_id"] is None
    assert cancelled["request_counts"] == {"total": 0, "completed": 0, "failed": 0}


@pytest.mark.parametrize("make_terminal", ["completed", "failed", "expired"])
def test_cancelling_a_terminal_batch_is_409(sim: RunningSimulator, client: OpenAI, make_terminal: str) -> None:
    if make_terminal == "expired":
        sim.configure(completion_window_seconds=0.01)
    model = "no-such-model" if make_terminal == "failed" else "gpt-4o-mini"
    batch = wait_status(client, submit(client, [chat_line("a", "x", model=model)]).id)
    assert batch.status == make_terminal
    with pytest.raises(openai.ConflictError) as caught:
        client.batches.cancel(batch.id)
    assert caught.value.status_code == 409
    assert caught.value.body == {
        "message": f"Cannot cancel a batch with status '{make_terminal}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_missing_input_file_fails_the_batch_or_404s(client: OpenAI) -> None:
    batch = client.batches.create(input_file_id="file-missing", endpoint=CHAT, completion_window="24h")
    failed = wait_status(client, batch.id)
    assert failed.status == "failed" and failed.errors is not None
    [error] = failed.errors.data
    assert (error.code, error.param, error.line) == ("invalid_request", "file_id", None)
    assert "file-missing" in (error.message or "")
    with run_simulator(missing_input_file="404") as strict:
        with OpenAI(base_url=strict.base_url, api_key="k", max_retries=0) as other:
            with pytest.raises(openai.NotFoundError):
                other.batches.create(input_file_id="file-missing", endpoint=CHAT, completion_window="24h")


def test_create_errors_are_400_and_create_nothing(sim: RunningSimulator, client: OpenAI) -> None:
    file_id = upload(client, [chat_line("a", "x")])
    cases = [
        ({"endpoint": "/v1/invalid/endpoint"}, "endpoint", "invalid_value"),
        ({"completion_window": "1h"}, "completion_window", "invalid_value"),
        ({"metadata": {"tags": ["a"]}}, "metadata.tags", "invalid_type"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "invalid_value"),
        (
            {"output_expires_after": {"anchor": "created_at", "seconds": 10}},
            "output_expires_after.seconds",
            "integer_below_min_value",
        ),
        (
            {"output_expires_after": {"anchor": "created_at", "seconds": 2_592_001}},
            "output_expires_after.seconds",
            "integer_above_max_value",
        ),
        (
            {"output_expires_after": {"anchor": "last_active_at", "seconds": 3600}},
            "output_expires_after.anchor",
            "invalid_value",
        ),
        ({"endpoint": "/v1/images/generations"}, "endpoint", "invalid_value"),
    ]
    for override, param, code in cases:
        kwargs = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h", **override}
        with pytest.raises(openai.BadRequestError) as caught:
            client.batches.create(**kwargs)  # type: ignore[arg-type]
        assert (caught.value.param, caught.value.code) == (param, code)
    assert "Supported values are" in str(
        httpx.post(
            f"{sim.base_url}/batches",
            headers={"Authorization": "Bearer k"},
            json={"input_file_id": file_id, "endpoint": "/v1/x", "completion_window": "24h"},
        ).json()
    )
    missing = httpx.post(
        f"{sim.base_url}/batches",
        headers={"Authorization": "Bearer k"},
        json={"endpoint": CHAT, "completion_window": "24h"},
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "message": "Missing required parameter: 'input_file_id'.",
        "type": "invalid_request_error",
        "param": "input_file_id",
        "code": "missing_required_parameter",
    }
    not_json = httpx.post(f"{sim.base_url}/batches", headers={"Authorization": "Bearer k"}, content=b"{oops")
    assert not_json.status_code == 400
    other = client.files.create(file=("n.txt", b"x", "text/plain"), purpose="user_data")
    with pytest.raises(openai.BadRequestError):
        client.batches.create(input_file_id=other.id, endpoint=CHAT, completion_window="24h")
    assert client.batches.list().data == []


def test_output_expires_after_sets_result_file_expiry(client: OpenAI) -> None:
    batch = submit(client, [chat_line("a", "x")], output_expires_after={"anchor": "created_at", "seconds": 7200})
    done = wait_status(client, batch.id)
    output = client.files.retrieve(done.output_file_id)
    assert output.expires_at == output.created_at + 7200


async def test_async_client_runs_batches_concurrently(aclient: AsyncOpenAI) -> None:
    async def one(n: int) -> tuple[str, list[str]]:
        lines = [chat_line(f"b{n}-{i}", f"batch {n} line {i}") for i in range(5)]
        uploaded = await aclient.files.create(file=("in.jsonl", jsonl(lines), "application/jsonl"), purpose="batch")
        batch = await aclient.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
        done = await async_wait_status(aclient, batch.id)
        assert done.status == "completed" and done.output_file_id
        text = (await aclient.files.content(done.output_file_id)).text
        return batch.id, [line for line in text.splitlines() if line]

    results = await asyncio.gather(*(one(n) for n in range(4)))
    assert len({batch_id for batch_id, _ in results}) == 4
    assert all(len(lines) == 5 for _, lines in results)
    listed = [b.id async for b in aclient.batches.list(limit=3)]
    assert sorted(listed) == sorted(batch_id for batch_id, _ in results)
    with pytest.raises(openai.NotFoundError):
        await aclient.batches.retrieve("batch_nope")
    with pytest.raises(openai.ConflictError):
        await aclient.batches.cancel(results[0][0])
