"""The /_sim admin routes: stats (batching proof, duplicate custom_ids), reset, live config, clock, shapes."""

from __future__ import annotations

import httpx
from openai import OpenAI

from batchgpt.simulator.testing import RunningSimulator, wait_until

from .batch_inputs import CHAT, chat_line, submit, upload, wait_status


def test_stats_prove_batching_and_spot_duplicates(sim: RunningSimulator, client: OpenAI) -> None:
    first = wait_status(client, submit(client, [chat_line("a", "x"), chat_line("b", "y")]).id)
    second = wait_status(client, submit(client, [chat_line("c", "z", model="gpt-4o")]).id)
    stats = sim.stats()
    assert stats["files"] == 4 and stats["files_by_purpose"] == {"batch": 2, "batch_output": 2}
    assert stats["batches"] == 2 and stats["batches_by_status"] == {"completed": 2}
    assert stats["lines_per_batch"] == {first.id: 2, second.id: 1}
    assert stats["models_per_batch"] == {first.id: ["gpt-4o-mini"], second.id: ["gpt-4o"]}
    assert [d["id"] for d in stats["batch_details"]] == [first.id, second.id]
    assert stats["lines_submitted"] == 3 and stats["lines_executed"] == 3
    assert stats["custom_id_submissions"] == {"a": 1, "b": 1, "c": 1}
    assert stats["duplicate_custom_ids"] == [] and stats["duplicate_executions"] == []
    assert stats["api_calls"]["files.create"] == 2 and stats["api_calls"]["batches.create"] == 2
    assert stats["api_calls_total"] == sum(stats["api_calls"].values()) and stats["retried_calls"] == 0

    wait_status(client, submit(client, [chat_line("a", "again")]).id)
    stats = sim.stats()
    assert stats["duplicate_custom_ids"] == ["a"] and stats["duplicate_executions"] == ["a"]
    assert "custom_id_submissions" not in sim.stats(include_custom_ids=False)


def test_retry_header_is_counted(sim: RunningSimulator) -> None:
    headers = {"Authorization": "Bearer k", "x-stainless-retry-count": "1"}
    httpx.get(sim.base_url + "/batches", headers=headers)
    httpx.get(sim.base_url + "/batches", headers={**headers, "x-stainless-retry-count": "0"})
    stats = sim.stats()
    assert stats["api_calls"] == {"batches.list": 2} and stats["retried_calls_by_route"] == {
        "batches.list": 1
    }


def test_reset_forgets_everything(sim: RunningSimulator, client: OpenAI) -> None:
    submit(client, [chat_line("a", "x")])
    sim.configure(in_progress_seconds=99)
    sim.inject(kind="slow_download")
    sim.advance_clock(10)
    sim.reset()
    stats = sim.stats()
    assert (stats["files"], stats["batches"], stats["api_calls_total"], stats["faults_pending"]) == (
        0,
        0,
        0,
        [],
    )
    assert stats["clock"]["offset_seconds"] == 0
    assert sim.settings.in_progress_seconds == 0.1


def test_live_config(sim: RunningSimulator, client: OpenAI) -> None:
    config = httpx.get(sim.root_url + "/_sim/config").json()
    assert config["in_progress_seconds"] == 0.1 and "port" not in config
    updated = sim.configure(in_progress_seconds=0.0, known_models=["only-this"])
    assert updated["in_progress_seconds"] == 0.0 and updated["known_models"] == ["only-this"]
    failed = wait_status(client, submit(client, [chat_line("a", "x")]).id)
    assert failed.status == "failed"
    bad_field = httpx.post(sim.root_url + "/_sim/config", json={"port": 1})
    assert bad_field.status_code == 400 and bad_field.json()["error"]["param"] == "port"
    bad_value = httpx.post(sim.root_url + "/_sim/config", json={"in_progress_seconds": -1})
    assert bad_value.status_code == 400 and "in_progress_seconds" in bad_value.json()["error"]["message"]


def test_clock_endpoints(sim: RunningSimulator) -> None:
    before = httpx.get(sim.root_url + "/_sim/clock").json()
    after = sim.advance_clock(3600)
    assert after["offset_seconds"] == 3600 and after["now"] >= before["now"] + 3600
    assert httpx.post(sim.root_url + "/_sim/clock/advance", json={"seconds": -5}).status_code == 400


def test_admin_time_controls_refuse_wrong_states(sim: RunningSimulator, client: OpenAI) -> None:
    done = wait_status(client, submit(client, [chat_line("a", "x")]).id)
    for action in ("expire", "finish-cancel"):
        response = httpx.post(f"{sim.root_url}/_sim/batches/{done.id}/{action}")
        assert response.status_code == 409
    assert httpx.post(f"{sim.root_url}/_sim/batches/batch_nope/expire").status_code == 404


def test_unknown_route_and_method_use_the_envelope(sim: RunningSimulator, client: OpenAI) -> None:
    missing = httpx.get(sim.base_url + "/nothing-here", headers={"Authorization": "Bearer k"})
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"message", "type", "param", "code"}
    wrong = httpx.put(sim.base_url + "/batches", headers={"Authorization": "Bearer k"})
    assert wrong.status_code == 405 and "error" in wrong.json()
    bad_limit = httpx.get(sim.base_url + "/batches?limit=1000", headers={"Authorization": "Bearer k"})
    assert bad_limit.status_code == 400 and bad_limit.json()["error"]["param"] == "limit"
    file_id = upload(client, [chat_line("a", "x")])
    assert (
        httpx.get(
            f"{sim.base_url}/batches?after=batch_unknown", headers={"Authorization": "Bearer k"}
        ).status_code
        == 400
    )
    assert client.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h").id


def test_any_route_advances_batches_and_cancel_drain_alias(sim: RunningSimulator, client: OpenAI) -> None:
    batch = submit(client, [chat_line("a", "x")])
    wait_until(
        lambda: any(f.purpose == "batch_output" for f in client.files.list()),
        what="output file via files.list",
    )
    assert client.batches.retrieve(batch.id).status == "completed"
    sim.configure(cancelling_seconds=3600)
    other = submit(client, [chat_line("b", "[sim:slow]")])
    client.batches.cancel(other.id)
    drained = httpx.post(f"{sim.root_url}/_sim/batches/{other.id}/cancel-drain")
    assert drained.status_code == 200 and drained.json()["status"] == "cancelled"
