"""File expiry: ``expires_after`` bounds (OpenAI's 400s), the 30-day default for batch files, result files
carrying ``output_expires_after``, and expired files gone (404) once the simulator's clock passes
``expires_at`` (the clock is moved, not waited for)."""

from __future__ import annotations

import json

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types import FileObject

from batchgpt.simulator.testing import RunningSimulator
from tests.support.conformance import assert_conforms

from .batch_inputs import chat_line, jsonl, submit, wait_status

DAY = 86_400


def _upload(client: OpenAI, **kwargs: object) -> FileObject:
    return client.files.create(
        file=("in.jsonl", jsonl([chat_line("a", "x")]), "application/jsonl"),
        purpose="batch",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("policy", "param", "code"),
    [
        ({"anchor": "created_at", "seconds": 3599}, "expires_after.seconds", "integer_below_min_value"),
        ({"anchor": "created_at", "seconds": 2_592_001}, "expires_after.seconds", "integer_above_max_value"),
        ({"anchor": "last_active_at", "seconds": 3600}, "expires_after.anchor", "invalid_value"),
    ],
)
def test_expires_after_bounds(client: OpenAI, policy: dict[str, object], param: str, code: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        _upload(client, expires_after=policy)
    assert (refused.value.param, refused.value.code, refused.value.type) == (param, code, "invalid_request_error")
    assert client.files.list().data == []


def test_an_expired_file_is_gone(sim: RunningSimulator, client: OpenAI) -> None:
    raw = client.files.with_raw_response.create(
        file=("in.jsonl", jsonl([chat_line("a", "x")]), "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    timed = assert_conforms(FileObject, json.loads(raw.text))
    default = _upload(client)
    assert timed.expires_at == timed.created_at + 3600
    assert default.expires_at == default.created_at + 30 * DAY
    sim.advance_clock(3599)
    assert client.files.retrieve(timed.id).id == timed.id
    sim.advance_clock(1)
    for gone in (client.files.retrieve, client.files.content, client.files.delete):
        with pytest.raises(openai.NotFoundError):
            gone(timed.id)
    assert [f.id for f in client.files.list()] == [default.id]
    batch = client.batches.create(input_file_id=timed.id, endpoint="/v1/chat/completions", completion_window="24h")
    failed = wait_status(client, batch.id)
    assert failed.status == "failed" and failed.errors is not None and failed.errors.data[0].param == "file_id"
    sim.advance_clock(30 * DAY)
    with pytest.raises(openai.NotFoundError):
        client.files.content(default.id)


def test_result_files_carry_output_expires_after(sim: RunningSimulator, client: OpenAI) -> None:
    lines = [chat_line("a", "x"), chat_line("b", "y [sim:error=400]")]
    kept = wait_status(client, submit(client, lines).id)
    timed = wait_status(
        client, submit(client, lines, output_expires_after={"anchor": "created_at", "seconds": 7200}).id
    )
    for file_id in (timed.output_file_id, timed.error_file_id):
        assert file_id is not None
        result = client.files.retrieve(file_id)
        assert result.purpose == "batch_output" and result.expires_at == result.created_at + 7200
    assert kept.output_file_id is not None
    default = client.files.retrieve(kept.output_file_id)
    assert default.expires_at == default.created_at + 30 * DAY
    sim.advance_clock(7200)
    with pytest.raises(openai.NotFoundError):
        client.files.content(timed.output_file_id or "")
    assert client.batches.retrieve(timed.id).output_file_id == timed.output_file_id  # the batch keeps the id
    assert client.files.content(kept.output_file_id).text


async def test_async_expiry(sim: RunningSimulator, aclient: AsyncOpenAI) -> None:
    uploaded = await aclient.files.create(
        file=("in.jsonl", jsonl([chat_line("a", "x")]), "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 7200},
    )
    sim.advance_clock(7200)
    with pytest.raises(openai.NotFoundError):
        await aclient.files.retrieve(uploaded.id)
