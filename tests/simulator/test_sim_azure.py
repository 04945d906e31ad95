"""The simulator in Azure OpenAI's dialect: the API under ``/openai/v1`` with the ``api-key`` header, Azure's
error bodies, the quota of input files without expiry, and no 24 h expiry; the official SDK as the client."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai import OpenAI

from batchgpt.simulator.testing import RunningSimulator
from tests.simulator.batch_inputs import chat_line, jsonl

KEY = "azure-test-key"


def _client(sim: RunningSimulator, **kwargs: object) -> OpenAI:
    """The official client as batch-gpt points it at Azure: ``{endpoint}/openai/v1`` with the ``api-key`` header."""
    return OpenAI(base_url=sim.base_url, api_key=KEY, default_headers={"api-key": KEY}, max_retries=0, **kwargs)


def test_the_api_is_served_under_openai_v1_with_the_api_key_header(azure_sim: RunningSimulator) -> None:
    assert azure_sim.base_url == f"{azure_sim.root_url}/openai/v1"
    client = _client(azure_sim)
    uploaded = client.files.create(
        file=("in.jsonl", jsonl([chat_line("a", "hello")]), "application/jsonl"), purpose="batch"
    )
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert client.batches.retrieve(batch.id).id == batch.id
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert reply.object == "chat.completion"
    # OpenAI's paths are not Azure's
    assert httpx.get(f"{azure_sim.root_url}/v1/batches", headers={"api-key": KEY}).status_code == 404


def test_a_bearer_key_alone_is_refused_in_azures_words(azure_sim: RunningSimulator) -> None:
    bearer_only = OpenAI(base_url=azure_sim.base_url, api_key=KEY, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        bearer_only.batches.list()
    assert refused.value.status_code == 401
    assert refused.value.body == {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }


def test_input_files_without_expiry_are_limited_to_the_quota(azure_sim: RunningSimulator) -> None:
    azure_sim.configure(file_quota=2)
    client = _client(azure_sim)
    content = jsonl([chat_line("a", "hello")])
    first = client.files.create(file=("1.jsonl", content, "application/jsonl"), purpose="batch")
    client.files.create(file=("2.jsonl", content, "application/jsonl"), purpose="batch")
    assert first.expires_at is None  # Azure gives batch files no expiry of its own
    with pytest.raises(openai.BadRequestError) as full:
        client.files.create(file=("3.jsonl", content, "application/jsonl"), purpose="batch")
    assert full.value.body == {
        "code": "quotaExceeded",
        "message": "The quota for files without expiry is reached. The maximum is 2.",
    }
    # files with an expiry do not count, and deleting one frees a place
    expiring = client.files.create(
        file=("4.jsonl", content, "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 14 * 86400},
    )
    assert expiring.expires_at is not None
    client.files.delete(first.id)
    client.files.create(file=("5.jsonl", content, "application/jsonl"), purpose="batch")


def test_a_batch_is_never_expired_at_24_hours(azure_sim: RunningSimulator) -> None:
    client = _client(azure_sim)
    slow = chat_line("slow", "takes days [sim:slow]")
    uploaded = client.files.create(file=("s.jsonl", jsonl([slow]), "application/jsonl"), purpose="batch")
    azure_sim.configure(slow_line_seconds=10 * 86400)
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    azure_sim.advance_clock(3 * 86400)
    assert client.batches.retrieve(batch.id).status == "in_progress"
    azure_sim.advance_clock(8 * 86400)
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.output_file_id is not None
    line = json.loads(client.files.content(done.output_file_id).text.splitlines()[0])
    assert line["custom_id"] == "slow" and line["response"]["status_code"] == 200


def test_expiries_shorter_than_14_days_are_refused(azure_sim: RunningSimulator) -> None:
    client = _client(azure_sim)
    content = jsonl([chat_line("a", "hello")])
    with pytest.raises(openai.BadRequestError) as short_file:
        client.files.create(
            file=("1.jsonl", content, "application/jsonl"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 7 * 86400},  # fine for OpenAI, not for Azure
        )
    assert short_file.value.body["param"] == "expires_after"
    uploaded = client.files.create(
        file=("2.jsonl", content, "application/jsonl"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 14 * 86400},
    )
    with pytest.raises(openai.BadRequestError) as short_output:
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            output_expires_after={"anchor": "created_at", "seconds": 3600},
        )
    assert short_output.value.body["param"] == "output_expires_after"
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        output_expires_after={"anchor": "created_at", "seconds": 30 * 86400},
    )
    assert batch.status == "validating"
