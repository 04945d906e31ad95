"""Validation failures via the SDK: the batch is created, then fails with one errors.data entry per line."""

from __future__ import annotations

import pytest
from openai import OpenAI

from batchgpt.simulator.testing import RunningSimulator, run_simulator

from .batch_inputs import CHAT, EMBEDDINGS, chat_line, embedding_line, submit, wait_status

CASES = {
    "invalid_json_line": (["{not json"], 1, None),
    "missing_required_parameter": ([{"method": "POST", "url": CHAT, "body": {}}], 1, "custom_id"),
    "invalid_url": ([{**chat_line("a", "x"), "url": "/v1/embeddings"}], 1, "url"),
    "duplicate_custom_id": ([chat_line("a", "x"), chat_line("a", "y")], 2, "custom_id"),
    "streaming_unsupported": ([chat_line("a", "x", stream=True)], 1, "body.stream"),
    "model_mismatch": ([chat_line("a", "x"), chat_line("b", "y", model="gpt-4o")], 2, "body.model"),
    "empty_file": ([], None, None),
    "model_not_found": ([chat_line("a", "x", model="nonexistent-model-xyz")], 1, "body.model"),
    "invalid_request": (
        [{"custom_id": "a", "method": "POST", "url": CHAT, "body": {"messages": []}}],
        1,
        "body.model",
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_validation_code(client: OpenAI, code: str) -> None:
    lines, line_no, param = CASES[code]
    batch = submit(client, [chat_line("ok", "fine"), *lines] if lines else [])
    assert batch.status == "validating"
    failed = wait_status(client, batch.id)
    assert failed.status == "failed" and failed.failed_at is not None and failed.in_progress_at is None
    assert failed.output_file_id is None and failed.error_file_id is None
    assert (failed.request_counts.total, failed.request_counts.completed, failed.request_counts.failed) == (
        0,
        0,
        0,
    )
    assert failed.errors is not None and failed.errors.object == "list"
    [error] = failed.errors.data
    expected_line = None if line_no is None else line_no + 1  # the good first line shifts everything by one
    assert (error.code, error.line, error.param) == (code, expected_line, param)
    assert error.message


def test_too_many_lines() -> None:
    with run_simulator(validating_seconds=0, max_lines=3) as sim:
        with OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client:
            failed = wait_status(client, submit(client, [chat_line(f"r{i}", "x") for i in range(4)]).id)
            assert failed.errors is not None
            assert [(e.code, e.line) for e in failed.errors.data] == [("too_many_tasks", None)]


def test_one_entry_per_bad_line_and_no_request_runs(sim: RunningSimulator, client: OpenAI) -> None:
    lines = [
        chat_line("ok", "fine"),
        "garbage",
        chat_line("ok", "dup"),
        chat_line("s", "x", stream=True),
        chat_line("m", "x", model="nope"),
        {"custom_id": "u", "method": "POST", "url": "/v1/completions", "body": {}},
    ]
    failed = wait_status(client, submit(client, lines).id)
    assert failed.errors is not None
    assert [(e.code, e.line) for e in failed.errors.data] == [
        ("invalid_json_line", 2),
        ("duplicate_custom_id", 3),
        ("streaming_unsupported", 4),
        ("model_not_found", 5),
        ("invalid_url", 6),
    ]
    assert failed.model == "gpt-4o-mini"
    stats = sim.stats()
    assert stats["lines_executed"] == 0 and stats["lines_submitted"] == 6


def test_accept_any_model(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(accept_any_model=True)
    done = wait_status(client, submit(client, [chat_line("a", "x", model="my-own-model")]).id)
    assert done.status == "completed" and done.model == "my-own-model"


def test_embeddings_validation(client: OpenAI) -> None:
    lines = [
        embedding_line("a", "x"),
        {"custom_id": "b", "method": "POST", "url": EMBEDDINGS, "body": {"model": "text-embedding-3-small"}},
    ]
    failed = wait_status(client, submit(client, lines, endpoint=EMBEDDINGS).id)
    assert failed.errors is not None
    assert [(e.code, e.param) for e in failed.errors.data] == [("invalid_request", "body.input")]
