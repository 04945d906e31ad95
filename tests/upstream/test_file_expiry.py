"""Files expire upstream: the edge uploads input files with ``expires_after`` and creates batches with
``output_expires_after``, from settings validated at start (3600..2592000 s)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from batchgpt.settings import OpenAISettings, SettingsError, load_settings
from batchgpt.simulator.testing import RunningSimulator
from batchgpt.upstream import Upstream, UpstreamBatch, make_upstream, submit
from collator.settings import CollatorSettings
from resolver.settings import ResolverSettings
from tests.support.waiting import async_wait_for

CHAT = "/v1/chat/completions"
DAY = 86400


def _lines(*custom_ids: str) -> bytes:
    return b"".join(
        json.dumps(
            {
                "custom_id": cid,
                "method": "POST",
                "url": CHAT,
                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": cid}]},
            }
        ).encode()
        + b"\n"
        for cid in custom_ids
    )


@pytest.fixture
async def sdk(sim: RunningSimulator) -> AsyncIterator[AsyncOpenAI]:
    """The official client on the simulator, to look at the files the edge made."""
    async with AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, timeout=10) as client:
        yield client


async def _completed(upstream: Upstream, batch: UpstreamBatch) -> UpstreamBatch:
    async def done() -> UpstreamBatch | None:
        seen = await upstream.retrieve(batch.id)
        return seen if seen.status.is_terminal else None

    return await async_wait_for(done, timeout_s=10, interval_s=0.02, what="the batch to end")


async def test_uploaded_input_and_batch_output_files_carry_the_configured_expiry(
    sim: RunningSimulator, sdk: AsyncOpenAI
) -> None:
    settings = load_settings(
        OpenAISettings,
        environ={
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": sim.base_url,
            "BATCHGPT_INPUT_FILE_EXPIRES_S": "7200",
            "BATCHGPT_OUTPUT_FILE_EXPIRES_S": "3600",
        },
    )
    upstream = make_upstream(settings)
    try:
        created = await submit(upstream, "bg_expiring", _lines("a", "b"), endpoint=CHAT, model="gpt-4o-mini")
        assert created.input_file_id is not None
        uploaded = await sdk.files.retrieve(created.input_file_id)
        assert uploaded.expires_at is not None and uploaded.expires_at - uploaded.created_at == 7200
        done = await _completed(upstream, created)
    finally:
        await upstream.close()
    assert done.output_file_id is not None
    output = await sdk.files.retrieve(done.output_file_id)
    assert output.purpose == "batch_output"
    assert output.expires_at is not None and output.expires_at - output.created_at == 3600


async def test_the_defaults_expire_inputs_and_outputs_after_14_days(
    sim: RunningSimulator, sdk: AsyncOpenAI
) -> None:
    settings = load_settings(CollatorSettings, environ={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": sim.base_url})
    assert (settings.input_file_expires_seconds, settings.output_file_expires_seconds) == (14 * DAY, 14 * DAY)
    upstream = make_upstream(settings)
    try:
        done = await _completed(upstream, await submit(upstream, "bg_default", _lines("c"), endpoint=CHAT, model="m"))
    finally:
        await upstream.close()
    assert done.input_file_id is not None and done.output_file_id is not None
    uploaded = await sdk.files.retrieve(done.input_file_id)
    output = await sdk.files.retrieve(done.output_file_id)
    assert uploaded.expires_at is not None and uploaded.expires_at - uploaded.created_at == 14 * DAY
    assert output.expires_at is not None and output.expires_at - output.created_at == 14 * DAY


@pytest.mark.parametrize("cls", [CollatorSettings, ResolverSettings])
@pytest.mark.parametrize("var", ["BATCHGPT_INPUT_FILE_EXPIRES_S", "BATCHGPT_OUTPUT_FILE_EXPIRES_S"])
@pytest.mark.parametrize("value", ["3599", "2592001", "soon"])
def test_an_expiry_outside_the_provider_s_bounds_stops_the_start(cls: type, var: str, value: str) -> None:
    with pytest.raises(SettingsError, match=var):
        load_settings(cls, environ={var: value})
    for bound in ("3600", "2592000"):
        assert load_settings(cls, environ={var: bound})
