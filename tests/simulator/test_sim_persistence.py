"""--state-dir: a restarted simulator (in-process or killed subprocess) keeps files, batches and stats."""

from __future__ import annotations

from pathlib import Path

from openai import OpenAI

from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import run_simulator, start_simulator_process, wait_until

from .batch_inputs import chat_line, read_lines, submit, wait_status

QUICK = {"validating_seconds": 0.02, "in_progress_seconds": 0.1, "finalizing_seconds": 0.02}


def test_restart_keeps_files_batches_and_submissions(tmp_path: Path) -> None:
    settings = SimulatorSettings(state_dir=tmp_path, **QUICK)
    with (
        run_simulator(settings) as first,
        OpenAI(base_url=first.base_url, api_key="k", max_retries=0) as client,
    ):
        done = wait_status(client, submit(client, [chat_line("a", "x"), chat_line("b", "y")]).id)
        running = submit(client, [chat_line("c", "z [sim:slow]")])
        before_output = read_lines(client, done.output_file_id)
        before_files = [f.id for f in client.files.list()]
    with (
        run_simulator(settings) as second,
        OpenAI(base_url=second.base_url, api_key="k", max_retries=0) as client,
    ):
        assert client.batches.retrieve(done.id) == done
        assert read_lines(client, done.output_file_id) == before_output
        assert [f.id for f in client.files.list()] == before_files
        assert [b.id for b in client.batches.list()] == [running.id, done.id]
        assert client.batches.retrieve(running.id).status == "in_progress"
        assert second.stats()["custom_id_submissions"] == {"a": 1, "b": 1, "c": 1}
        wait_status(client, submit(client, [chat_line("a", "again")]).id)
        assert second.stats()["duplicate_custom_ids"] == ["a"]
        new_file = client.files.create(file=("n.jsonl", b"{}", "application/jsonl"), purpose="batch")
        assert [f.id for f in client.files.list(limit=1).data] == [new_file.id]


def test_reset_clears_the_state_dir(tmp_path: Path) -> None:
    settings = SimulatorSettings(state_dir=tmp_path, **QUICK)
    with run_simulator(settings) as sim, OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client:
        wait_status(client, submit(client, [chat_line("a", "x")]).id)
        sim.reset()
    assert list((tmp_path / "files").iterdir()) == [] and list((tmp_path / "batches").iterdir()) == []


def test_killed_process_restarts_with_its_batches(tmp_path: Path) -> None:
    state = tmp_path / "state"
    flags = {
        "state_dir": state,
        "validating_seconds": 0.02,
        "in_progress_seconds": 0.2,
        "log_level": "warning",
    }
    first = start_simulator_process(log_path=tmp_path / "first.log", **flags)
    try:
        with OpenAI(base_url=first.base_url, api_key="k", max_retries=0) as client:
            batch = submit(client, [chat_line(f"r{i}", f"q{i}") for i in range(3)])
    finally:
        assert first.kill() != 0
    second = start_simulator_process(log_path=tmp_path / "second.log", **flags)
    try:
        with OpenAI(base_url=second.base_url, api_key="k", max_retries=0) as client:
            done = wait_status(client, batch.id)
            assert done.status == "completed" and done.request_counts.completed == 3
            assert {line["custom_id"] for line in read_lines(client, done.output_file_id)} == {
                "r0",
                "r1",
                "r2",
            }
            wait_until(lambda: second.stats()["lines_executed"] == 3, what="stats after restart")
    finally:
        second.stop()
