"""Expiry: partial results plus batch_expired lines, by window, fault, admin call, or moving the clock."""

from __future__ import annotations

from openai import OpenAI

from batchgpt.simulator.testing import RunningSimulator, run_simulator, wait_until

from .batch_inputs import chat_line, read_lines, submit, wait_status


def _check_expired(client: OpenAI, batch_id: str, done_ids: set[str], expired_ids: set[str]) -> None:
    expired = wait_status(client, batch_id)
    assert expired.status == "expired" and expired.expired_at is not None and expired.completed_at is None
    assert {line["custom_id"] for line in read_lines(client, expired.output_file_id)} == done_ids
    errors = read_lines(client, expired.error_file_id)
    assert {line["custom_id"] for line in errors} == expired_ids
    for line in errors:
        assert line["response"] is None
        assert line["error"] == {
            "code": "batch_expired",
            "message": "This request could not be executed before the completion window expired.",
        }
    counts = expired.request_counts
    assert (counts.total, counts.completed, counts.failed) == (
        len(done_ids | expired_ids),
        len(done_ids),
        len(expired_ids),
    )


def test_short_window_expires_with_partial_results(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(completion_window_seconds=0.3)
    lines = [chat_line("a", "x"), chat_line("b", "y"), chat_line("slow", "z [sim:slow]")]
    batch = submit(client, lines)
    assert batch.expires_at == batch.created_at or batch.expires_at == batch.created_at + 1
    _check_expired(client, batch.id, {"a", "b"}, {"slow"})


def test_expired_lines_can_be_left_out_of_failed() -> None:
    with run_simulator(
        validating_seconds=0,
        in_progress_seconds=0.01,
        completion_window_seconds=0.2,
        expired_count_as_failed=False,
    ) as sim:
        with OpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as client:
            expired = wait_status(
                client, submit(client, [chat_line("a", "x"), chat_line("s", "[sim:slow]")]).id
            )
            assert expired.status == "expired"
            assert (expired.request_counts.completed, expired.request_counts.failed) == (1, 0)


def test_expire_fault(sim: RunningSimulator, client: OpenAI) -> None:
    sim.inject(kind="batch", outcome="expire", fraction=0.5)
    batch = submit(client, [chat_line(f"r{i}", f"q{i}") for i in range(4)])
    _check_expired(client, batch.id, {"r0", "r1"}, {"r2", "r3"})
    assert wait_status(client, submit(client, [chat_line("n", "x")]).id).status == "completed"


def test_admin_expire(sim: RunningSimulator, client: OpenAI) -> None:
    batch = submit(
        client,
        [
            chat_line("a", "x"),
            chat_line("b", "y"),
            chat_line("s1", "[sim:slow] 1"),
            chat_line("s2", "[sim:slow] 2"),
        ],
    )
    wait_until(
        lambda: client.batches.retrieve(batch.id).request_counts.completed == 2, what="fast lines done"
    )
    assert sim.expire_batch(batch.id)["status"] == "expired"
    _check_expired(client, batch.id, {"a", "b"}, {"s1", "s2"})


def test_a_24h_window_compressed_by_moving_the_clock(sim: RunningSimulator, client: OpenAI) -> None:
    sim.configure(validating_seconds=60, in_progress_seconds=3600, finalizing_seconds=60)
    batch = submit(client, [chat_line(f"r{i}", f"q{i}") for i in range(4)])
    sim.advance_clock(60 + 1800 + 1)
    half = client.batches.retrieve(batch.id)
    assert half.status == "in_progress" and half.request_counts.completed == 2
    sim.advance_clock(1800 + 60)
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.completed_at - done.created_at >= 3720
    slow = submit(client, [chat_line("a", "x"), chat_line("s", "[sim:slow]")])
    sim.configure(slow_line_seconds=200_000)
    slow = submit(client, [chat_line("a", "x"), chat_line("s", "[sim:slow]")])
    sim.advance_clock(86_400)
    _check_expired(client, slow.id, {"a"}, {"s"})
