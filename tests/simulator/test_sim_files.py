"""Files API through the official SDK (sync and async): upload, list, retrieve, content, delete, errors."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from batchgpt.simulator.testing import RunningSimulator, run_simulator

from .batch_inputs import chat_line, jsonl


def test_upload_retrieve_content_delete(client: OpenAI) -> None:
    data = jsonl([chat_line("a", "hello")])
    uploaded = client.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch")
    assert uploaded.id.startswith("file-") and len(uploaded.id) == 27
    assert (uploaded.object, uploaded.bytes, uploaded.filename, uploaded.purpose) == (
        "file",
        len(data),
        "in.jsonl",
        "batch",
    )
    assert uploaded.status == "processed" and uploaded.status_details is None
    assert uploaded.expires_at == uploaded.created_at + 30 * 24 * 3600
    assert client.files.retrieve(uploaded.id) == uploaded
    assert client.files.content(uploaded.id).content == data
    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (uploaded.id, "file", True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_non_batch_purpose_has_no_expiry_unless_asked(client: OpenAI) -> None:
    plain = client.files.create(file=("notes.txt", b"hi", "text/plain"), purpose="user_data")
    assert plain.expires_at is None
    timed = client.files.create(
        file=("notes.txt", b"hi", "text/plain"),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert timed.expires_at == timed.created_at + 3600


def test_batch_upload_must_be_jsonl(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("input.txt", jsonl([chat_line("a", "x")]), "text/plain"), purpose="batch")
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "message": "Invalid file format for Batch API. Must be .jsonl",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_bad_purpose_and_missing_fields(sim: RunningSimulator, client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("in.jsonl", b"{}", "application/jsonl"), purpose="nonsense")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_value" and caught.value.param == "purpose"
    response = httpx.post(
        sim.base_url + "/files", headers={"Authorization": "Bearer k"}, files={"file": ("a.jsonl", b"{}")}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_required_parameter"


def test_oversized_batch_file_is_rejected() -> None:
    with (
        run_simulator(max_bytes=100) as sim,
        OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client,
    ):
        with pytest.raises(openai.BadRequestError):
            client.files.create(file=("in.jsonl", b"x" * 101, "application/jsonl"), purpose="batch")


def test_first_line_check_at_upload_is_switchable(client: OpenAI) -> None:
    client.files.create(file=("in.jsonl", b"not json\n", "application/jsonl"), purpose="batch")
    with run_simulator(upload_check_first_line=True) as strict:
        with OpenAI(base_url=strict.base_url, api_key="k", max_retries=0) as strict_client:
            with pytest.raises(openai.BadRequestError):
                strict_client.files.create(
                    file=("in.jsonl", b"not json\n", "application/jsonl"), purpose="batch"
                )
            with pytest.raises(openai.BadRequestError):
                strict_client.files.create(file=("in.jsonl", b"", "application/jsonl"), purpose="batch")
            later_bad = jsonl([chat_line("a", "x"), "not json"])
            strict_client.files.create(file=("in.jsonl", later_bad, "application/jsonl"), purpose="batch")


def test_list_newest_first_with_cursor(client: OpenAI) -> None:
    ids = [
        client.files.create(file=(f"f{i}.jsonl", b"{}", "application/jsonl"), purpose="batch").id
        for i in range(5)
    ]
    listed = [f.id for f in client.files.list()]
    assert listed == ids[::-1]
    page = client.files.list(limit=2)
    assert [f.id for f in page.data] == [ids[4], ids[3]] and page.has_more
    assert [f.id for f in client.files.list(limit=2, after=ids[3]).data] == [ids[2], ids[1]]
    assert [f.id for f in client.files.list(order="asc", limit=10).data] == ids
    assert [f.id for f in client.files.list(limit=2, order="desc")] == ids[::-1]  # auto-pagination
    client.files.create(file=("other.txt", b"x", "text/plain"), purpose="user_data")
    assert [f.id for f in client.files.list(purpose="batch")] == ids[::-1]


def test_unknown_file_is_404_everywhere(client: OpenAI) -> None:
    for call in (client.files.retrieve, client.files.content, client.files.delete):
        with pytest.raises(openai.NotFoundError) as caught:
            call("file-doesnotexist")
        assert caught.value.status_code == 404
        assert "file-doesnotexist" in caught.value.message


def test_401_without_a_bearer_key(sim: RunningSimulator) -> None:
    bare = httpx.get(sim.base_url + "/files")
    assert bare.status_code == 401
    assert set(bare.json()["error"]) == {"message", "type", "param", "code"}
    assert bare.headers["x-request-id"].startswith("req_")
    with OpenAI(base_url=sim.base_url, api_key="unused", max_retries=0) as keyless:
        with pytest.raises(openai.AuthenticationError) as caught:
            keyless.files.list(extra_headers={"Authorization": openai.Omit()})
    assert caught.value.status_code == 401 and "API key" in caught.value.message
    assert sim.stats()["unauthorized_calls"] == 2


def test_api_keys_restrict_and_auth_can_be_off() -> None:
    with run_simulator(api_keys=("sk-good",)) as sim:
        with OpenAI(base_url=sim.base_url, api_key="sk-wrong-key", max_retries=0) as wrong:
            with pytest.raises(openai.AuthenticationError) as caught:
                wrong.files.list()
        assert caught.value.code == "invalid_api_key"
        with OpenAI(base_url=sim.base_url, api_key="sk-good", max_retries=0) as good:
            assert good.files.list().data == []
    with run_simulator(require_auth=False) as open_sim:
        assert httpx.get(open_sim.base_url + "/files").status_code == 200


async def test_async_client_files(aclient: AsyncOpenAI) -> None:
    data = jsonl([chat_line("a", "x")])
    uploaded = await aclient.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch")
    assert (await aclient.files.retrieve(uploaded.id)).id == uploaded.id
    assert (await aclient.files.content(uploaded.id)).content == data
    assert [f.id async for f in aclient.files.list()] == [uploaded.id]
    with pytest.raises(openai.NotFoundError):
        await aclient.files.retrieve("file-nope")
    assert (await aclient.files.delete(uploaded.id)).deleted
