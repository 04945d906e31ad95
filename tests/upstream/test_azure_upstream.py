"""The Azure OpenAI edge, built from settings the way the services build it, against the simulator in Azure's
dialect: files and batches under ``/openai/v1`` with the ``api-key`` header, the deployment name passed through,
and Azure's error bodies mapped to OpenAI's (the file quota as a transient fault)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from batchgpt.settings import OpenAISettings, load_settings
from batchgpt.simulator.testing import RunningSimulator, run_simulator
from batchgpt.upstream import (
    AzureOpenAIUpstream,
    Upstream,
    UpstreamBatch,
    UpstreamRejected,
    UpstreamTransient,
    make_openai_client,
    make_upstream,
    submit,
)
from batchgpt.upstream.azure_errors import openai_error_object
from schemas import BatchStatus
from tests.simulator.conftest import FAST
from tests.support.waiting import async_wait_for

CHAT = "/v1/chat/completions"
DEPLOYMENT = "gpt-4o-mini"  # a deployment named after its model, as the simulator knows it


def _lines(*custom_ids: str, model: str = DEPLOYMENT) -> bytes:
    return b"".join(
        json.dumps(
            {
                "custom_id": cid,
                "method": "POST",
                "url": CHAT,
                "body": {"model": model, "messages": [{"role": "user", "content": cid}]},
            }
        ).encode()
        + b"\n"
        for cid in custom_ids
    )


def _azure(endpoint: str, key: str = "azure-test-key") -> Upstream:
    settings = load_settings(OpenAISettings, {"AZURE_OPENAI_ENDPOINT": endpoint, "AZURE_OPENAI_API_KEY": key})
    return make_upstream(settings)


@pytest.fixture
async def azure(azure_sim: RunningSimulator) -> AsyncIterator[Upstream]:
    edge = _azure(azure_sim.root_url)
    try:
        yield edge
    finally:
        await edge.close()


async def _terminal(upstream: Upstream, upstream_batch_id: str) -> UpstreamBatch:
    async def done() -> UpstreamBatch | None:
        batch = await upstream.retrieve(upstream_batch_id)
        return batch if batch.status.is_terminal else None

    return await async_wait_for(done, timeout_s=10, interval_s=0.02, what="the batch to end")


async def test_azure_settings_build_the_azure_edge_on_openai_v1(azure: Upstream, azure_sim: RunningSimulator) -> None:
    assert isinstance(azure, AzureOpenAIUpstream)
    started = time.time()
    created = await submit(azure, "bg_azure", _lines("a", "b"), endpoint=CHAT, model=DEPLOYMENT)
    found = await azure.find("bg_azure", not_before=started)
    assert found is not None and found.id == created.id
    done = await _terminal(azure, created.id)
    assert done.status is BatchStatus.COMPLETED and done.output_file_id is not None
    lines = [json.loads(line) async for line in azure.result_lines(done.output_file_id)]
    assert sorted(line["custom_id"] for line in lines) == ["a", "b"]
    assert {line["response"]["body"]["model"] for line in lines} == {DEPLOYMENT}  # passed through
    assert done.input_file_id is not None
    await azure.delete_file(done.input_file_id)
    stats = azure_sim.stats()
    assert stats["unauthorized_calls"] == 0  # every call carried the api-key header
    assert stats["files_by_purpose"].get("batch", 0) == 0


async def test_uploads_with_an_expiry_never_count_against_the_file_quota(
    azure: Upstream, azure_sim: RunningSimulator
) -> None:
    azure_sim.configure(file_quota=1)
    for batch_id in ("bg_e1", "bg_e2", "bg_e3"):  # the edge uploads with expires_after (14 days by default)
        await azure.stage(batch_id, _lines(batch_id))
    assert azure_sim.stats()["files_by_purpose"]["batch"] == 3


async def test_the_file_quota_is_a_transient_fault_in_openais_shape(azure_sim: RunningSimulator) -> None:
    settings = load_settings(
        OpenAISettings, {"AZURE_OPENAI_ENDPOINT": azure_sim.root_url, "AZURE_OPENAI_API_KEY": "azure-test-key"}
    )
    azure = AzureOpenAIUpstream(make_openai_client(settings))  # uploads without an expiry: the quota applies
    azure_sim.configure(file_quota=1)
    first = await azure.stage("bg_q1", _lines("a"))
    with pytest.raises(UpstreamTransient) as full:
        await azure.stage("bg_q2", _lines("b"))
    error = full.value
    assert (error.status, error.code, error.operation) == (400, "quotaExceeded", "files.create")
    assert error.body == {
        "message": "The quota for files without expiry is reached. The maximum is 1.",
        "type": "invalid_request_error",
        "param": None,
        "code": "quotaExceeded",
    }
    assert first.input_file_id is not None
    await azure.delete_file(first.input_file_id)
    try:
        assert (await azure.stage("bg_q2", _lines("b"))).input_file_id  # a place freed: the upload goes through
    finally:
        await azure.close()


async def test_a_refused_key_is_rejected_with_openais_code() -> None:
    with run_simulator(FAST, dialect="azure", api_keys=("the-right-key",)) as strict:
        edge = _azure(strict.root_url, key="a-wrong-key")
        try:
            with pytest.raises(UpstreamRejected) as refused:
                await edge.retrieve("batch_x")
        finally:
            await edge.close()
    error = refused.value
    assert (error.status, error.code, error.transient) == (401, "invalid_api_key", False)
    assert error.body is not None and error.body["type"] == "invalid_request_error"
    assert error.body["message"].startswith("Access denied due to invalid subscription key")


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (  # the gateway's envelope: the status as the code
            {"code": "429", "message": "Requests to the Batch API have exceeded the rate limit."},
            429,
            {
                "message": "Requests to the Batch API have exceeded the rate limit.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            },
        ),
        (  # no envelope at all
            {"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, or expired."},
            401,
            {
                "message": "Unauthorized. Access token is missing, invalid, or expired.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            },
        ),
        (  # Azure's own code for an unknown deployment
            {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."},
            404,
            {
                "message": "The API deployment for this resource does not exist.",
                "type": "invalid_request_error",
                "param": None,
                "code": "model_not_found",
            },
        ),
        (  # already OpenAI's shape: kept
            {
                "message": "Invalid 'metadata'.",
                "type": "invalid_request_error",
                "param": "metadata",
                "code": "invalid_value",
            },
            400,
            {
                "message": "Invalid 'metadata'.",
                "type": "invalid_request_error",
                "param": "metadata",
                "code": "invalid_value",
            },
        ),
        (
            None,
            503,
            {"message": "Azure OpenAI answered HTTP 503.", "type": "server_error", "param": None, "code": None},
        ),
    ],
)
def test_azure_error_bodies_become_openais_error_object(body: object, status: int, expected: dict[str, object]) -> None:
    assert openai_error_object(body, status) == expected


async def test_azures_429_is_transient_with_its_retry_after_and_openais_code(
    azure: Upstream, azure_sim: RunningSimulator
) -> None:
    azure_sim.inject(
        kind="http_error",
        route="batches.list",
        status=429,
        count=1,
        retry_after_seconds=2,
        message="Requests to the Batch API have exceeded the call rate limit. Please retry after 2 seconds.",
    )
    with pytest.raises(UpstreamTransient) as limited:
        await azure.find("bg_x", not_before=time.time())
    error = limited.value
    assert (error.status, error.code, error.retry_after_s) == (429, "rate_limit_exceeded", 2.0)
    assert error.body == {
        "message": "Requests to the Batch API have exceeded the call rate limit. Please retry after 2 seconds.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert await azure.find("bg_x", not_before=time.time()) is None  # the next call goes through
