"""The simulator's Anthropic API (Messages, Message Batches) driven by the official ``anthropic`` SDK."""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx
import pytest
from anthropic import Anthropic, AsyncAnthropic
from anthropic.types import Message
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse
from openai import OpenAI

from batchgpt.simulator.message_answers import expected_message_text
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator, wait_until

MODEL = "claude-haiku-4-5"


def _params(text: str, **extra: object) -> dict[str, object]:
    return {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": text}], **extra}


def _requests(*texts: str) -> list[dict[str, object]]:
    return [{"custom_id": f"req-{index}", "params": _params(text)} for index, text in enumerate(texts)]


def _ended(client: Anthropic, batch_id: str) -> MessageBatch:
    def check() -> MessageBatch | None:
        batch = client.messages.batches.retrieve(batch_id)
        return batch if batch.processing_status == "ended" else None

    return wait_until(check, timeout=10, what=f"batch {batch_id} ended")


def test_messages_create_answers_a_message_from_the_prompt(anthropic_client: Anthropic) -> None:
    body = _params("Name three rivers")
    message = anthropic_client.messages.with_raw_response.create(**body)  # type: ignore[call-overload]
    parsed: Message = message.parse()
    assert message.headers["request-id"].startswith("req_")
    assert parsed.type == "message" and parsed.role == "assistant" and parsed.model == MODEL
    assert parsed.id.startswith("msg_")
    assert parsed.content[0].type == "text"
    assert parsed.content[0].text == expected_message_text(body)
    assert parsed.stop_reason == "end_turn"
    assert parsed.usage.input_tokens > 0 and parsed.usage.output_tokens > 0


def test_messages_create_errors_in_anthropics_envelope(anthropic_client: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        anthropic_client.messages.create(
            model="claude-nope", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert missing.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model: claude-nope"},
    }
    with pytest.raises(anthropic.RateLimitError) as limited:
        anthropic_client.messages.create(**_params("[sim:error=429]"))  # type: ignore[call-overload]
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(anthropic.BadRequestError) as bad:
        anthropic_client.messages.create(model=MODEL, max_tokens=0, messages=[{"role": "user", "content": "x"}])
    assert isinstance(bad.value.body, dict) and bad.value.body["error"]["type"] == "invalid_request_error"


def test_auth_and_version_headers_are_checked(sim: RunningSimulator) -> None:
    url = sim.root_url + "/v1/messages/batches"
    no_key = httpx.get(url, headers={"anthropic-version": "2023-06-01"})
    assert no_key.status_code == 401
    assert no_key.json()["type"] == "error" and no_key.json()["error"]["type"] == "authentication_error"
    no_version = httpx.get(url, headers={"x-api-key": "sk-ant-test"})
    assert no_version.status_code == 400 and no_version.json()["error"]["type"] == "invalid_request_error"
    with Anthropic(base_url=sim.root_url, api_key="", max_retries=0) as client, pytest.raises(anthropic.APIError):
        client.messages.batches.list()


def test_a_batch_runs_and_its_results_carry_every_outcome(anthropic_client: Anthropic) -> None:
    requests = _requests("first question", "[sim:error=500] broken", "[sim:invalid] refused", "fourth")
    created = anthropic_client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    assert created.id.startswith("msgbatch_") and created.type == "message_batch"
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 4 and created.request_counts.succeeded == 0
    assert created.results_url is None and created.ended_at is None
    assert (created.expires_at - created.created_at).total_seconds() == pytest.approx(86400, abs=1)

    ended = _ended(anthropic_client, created.id)
    counts = ended.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled, counts.expired) == (0, 2, 2, 0, 0)
    assert ended.ended_at is not None and ended.results_url is not None
    assert ended.results_url.endswith(f"/v1/messages/batches/{created.id}/results")

    results = {r.custom_id: r.result for r in anthropic_client.messages.batches.results(created.id)}
    assert set(results) == {"req-0", "req-1", "req-2", "req-3"}
    first = results["req-0"]
    assert first.type == "succeeded"
    assert first.message.content[0].text == expected_message_text(requests[0]["params"])  # type: ignore[union-attr,arg-type]
    assert first.message.usage.service_tier == "batch"  # type: ignore[union-attr]
    broken, refused = results["req-1"], results["req-2"]
    assert broken.type == "errored" and broken.error.error.type == "api_error"  # type: ignore[union-attr]
    assert refused.type == "errored" and refused.error.error.type == "invalid_request_error"  # type: ignore[union-attr]


def test_results_lines_validate_as_the_sdk_types(anthropic_client: Anthropic, sim: RunningSimulator) -> None:
    created = anthropic_client.messages.batches.create(requests=_requests("a", "b"))  # type: ignore[arg-type]
    _ended(anthropic_client, created.id)
    raw = httpx.get(
        f"{sim.root_url}/v1/messages/batches/{created.id}/results",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
    )
    lines = raw.text.splitlines()
    assert len(lines) == 2
    for line in lines:
        MessageBatchIndividualResponse.model_validate_json(line)


def test_cancel_moves_through_canceling_to_ended_with_canceled_requests(
    anthropic_client: Anthropic, sim: RunningSimulator
) -> None:
    sim.configure(cancelling_seconds=30)
    created = anthropic_client.messages.batches.create(requests=_requests("[sim:slow] one", "[sim:slow] two"))  # type: ignore[arg-type]
    canceling = anthropic_client.messages.batches.cancel(created.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    sim.finish_cancel(created.id)
    ended = anthropic_client.messages.batches.retrieve(created.id)
    assert ended.processing_status == "ended" and ended.request_counts.canceled == 2
    results = list(anthropic_client.messages.batches.results(created.id))
    assert sorted(r.result.type for r in results) == ["canceled", "canceled"]
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.batches.cancel(created.id)


def test_an_expired_batch_keeps_finished_requests_and_expires_the_rest(
    anthropic_client: Anthropic, sim: RunningSimulator
) -> None:
    created = anthropic_client.messages.batches.create(requests=_requests("fast", "[sim:slow] slow"))  # type: ignore[arg-type]
    wait_until(lambda: sim.stats()["lines_executed"] == 1, timeout=10, what="the fast line ran")
    sim.expire_batch(created.id)
    ended = anthropic_client.messages.batches.retrieve(created.id)
    assert (ended.request_counts.succeeded, ended.request_counts.expired) == (1, 1)
    kinds = {r.custom_id: r.result.type for r in anthropic_client.messages.batches.results(created.id)}
    assert kinds == {"req-0": "succeeded", "req-1": "expired"}


def test_list_pages_newest_first_both_ways(anthropic_client: Anthropic) -> None:
    ids = [anthropic_client.messages.batches.create(requests=_requests(f"q{n}")).id for n in range(5)]  # type: ignore[arg-type]
    newest_first = list(reversed(ids))
    page = anthropic_client.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2]
    assert page.has_more and page.first_id == newest_first[0] and page.last_id == newest_first[1]
    assert [b.id for b in anthropic_client.messages.batches.list(limit=2)] == newest_first  # auto-paging
    older = anthropic_client.messages.batches.list(after_id=newest_first[1], limit=10)
    assert [b.id for b in older.data] == newest_first[2:] and not older.has_more
    newer = anthropic_client.messages.batches.list(before_id=newest_first[3], limit=2)
    assert [b.id for b in newer.data] == newest_first[1:3] and newer.has_more


def test_openai_and_anthropic_batches_do_not_see_each_other(anthropic_client: Anthropic, sim: RunningSimulator) -> None:
    created = anthropic_client.messages.batches.create(requests=_requests("x"))  # type: ignore[arg-type]
    openai_list = httpx.get(sim.base_url + "/batches", headers={"authorization": "Bearer sk"}).json()
    assert openai_list["data"] == []
    assert httpx.get(sim.base_url + f"/batches/{created.id}", headers={"authorization": "Bearer sk"}).status_code == 404
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.messages.batches.retrieve("batch_unknown")


def test_create_checks_custom_ids_and_limits(anthropic_client: Anthropic, sim: RunningSimulator) -> None:
    duplicate = [{"custom_id": "same", "params": _params("a")}, {"custom_id": "same", "params": _params("b")}]
    with pytest.raises(anthropic.BadRequestError, match="Duplicate custom_id"):
        anthropic_client.messages.batches.create(requests=duplicate)  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        anthropic_client.messages.batches.create(requests=[{"custom_id": "has space", "params": _params("a")}])  # type: ignore[list-item]
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.batches.create(requests=[])
    sim.configure(message_batch_max_requests=2)
    with pytest.raises(anthropic.BadRequestError, match="at most 2"):
        anthropic_client.messages.batches.create(requests=_requests("a", "b", "c"))  # type: ignore[arg-type]
    sim.configure(message_batch_max_bytes=100)
    with pytest.raises(anthropic.APIStatusError) as too_large:
        anthropic_client.messages.batches.create(requests=_requests("a"))  # type: ignore[arg-type]
    assert too_large.value.status_code == 413
    assert sim.stats()["batches"] == 0


def test_faults_answer_in_anthropics_words_and_the_sdk_retries(sim: RunningSimulator) -> None:
    sim.inject(kind="http_error", route="messages.batches.create", status=529, count=1, retry_after_seconds=0.01)
    with Anthropic(base_url=sim.root_url, api_key="k", max_retries=2, timeout=10) as client:
        created = client.messages.batches.create(requests=_requests("x"))  # type: ignore[arg-type]
    assert created.processing_status == "in_progress"
    assert sim.stats()["api_calls"]["messages.batches.create"] == 2
    sim.inject(kind="http_error", route="messages.batches.retrieve", status=500, count=1)
    raw = httpx.get(
        f"{sim.root_url}/v1/messages/batches/{created.id}",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
    )
    assert raw.status_code == 500 and raw.json()["error"]["type"] == "api_error"


def test_batch_faults_expire_a_batch_with_partial_results(anthropic_client: Anthropic, sim: RunningSimulator) -> None:
    sim.inject(kind="batch", outcome="expire", fraction=0.5)
    created = anthropic_client.messages.batches.create(requests=_requests("a", "b", "c", "d"))  # type: ignore[arg-type]
    ended = _ended(anthropic_client, created.id)
    counts = ended.request_counts
    assert counts.succeeded == 2 and counts.expired == 2


def test_models_list_in_anthropics_shape(anthropic_client: Anthropic) -> None:
    models = anthropic_client.models.list()
    assert MODEL in [m.id for m in models.data]
    assert all(m.type == "model" for m in models.data)


async def test_async_client_creates_and_reads_a_batch(anthropic_aclient: AsyncAnthropic) -> None:
    created = await anthropic_aclient.messages.batches.create(requests=_requests("async question"))  # type: ignore[arg-type]
    ended = await anthropic_aclient.messages.batches.retrieve(created.id)
    assert ended.id == created.id
    message = await anthropic_aclient.messages.create(**_params("hello"))  # type: ignore[call-overload]
    assert message.content[0].text == expected_message_text(_params("hello"))


def test_a_streamed_message_replays_the_answer_as_anthropics_events(
    anthropic_client: Anthropic, sim: RunningSimulator
) -> None:
    body = _params("Stream me a long enough answer to need several text deltas, please")
    with anthropic_client.messages.stream(**body) as stream:  # type: ignore[arg-type]
        text = stream.get_final_text()
        final = stream.get_final_message()
    assert text == expected_message_text(body)
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 1
    raw = httpx.post(
        f"{sim.root_url}/v1/messages",
        json={**body, "stream": True},
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
    )
    kinds = [line.removeprefix("event: ") for line in raw.text.splitlines() if line.startswith("event: ")]
    assert kinds[:3] == ["message_start", "ping", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert kinds.count("content_block_delta") > 1


def test_an_ended_batch_can_be_deleted_and_a_running_one_cannot(
    anthropic_client: Anthropic, sim: RunningSimulator
) -> None:
    running = anthropic_client.messages.batches.create(requests=_requests("[sim:slow] still going"))  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.batches.delete(running.id)
    ended = anthropic_client.messages.batches.create(requests=_requests("quick"))  # type: ignore[arg-type]
    _ended(anthropic_client, ended.id)
    deleted = anthropic_client.messages.batches.delete(ended.id)
    assert (deleted.id, deleted.type) == (ended.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.messages.batches.retrieve(ended.id)


def test_a_model_is_retrieved_in_each_apis_shape(anthropic_client: Anthropic, client: OpenAI) -> None:
    info = anthropic_client.models.retrieve(MODEL)
    assert info.id == MODEL and info.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.models.retrieve("gpt-4o-mini")
    assert client.models.retrieve("gpt-4o-mini").object == "model"


def test_a_restart_with_a_state_dir_keeps_message_batches_and_their_results(tmp_path: Path) -> None:
    settings = SimulatorSettings(state_dir=tmp_path, validating_seconds=0.02, in_progress_seconds=0.1)
    with run_simulator(settings) as first, Anthropic(base_url=first.root_url, api_key="k", max_retries=0) as client:
        done = _ended(client, client.messages.batches.create(requests=_requests("kept")).id)  # type: ignore[arg-type]
        before = [r.model_dump() for r in client.messages.batches.results(done.id)]
    with run_simulator(settings) as second, Anthropic(base_url=second.root_url, api_key="k", max_retries=0) as client:
        assert client.messages.batches.retrieve(done.id).model_dump(exclude={"results_url"}) == done.model_dump(
            exclude={"results_url"}
        )
        assert [r.model_dump() for r in client.messages.batches.results(done.id)] == before
        assert second.stats()["custom_id_submissions"] == {"req-0": 1}
