"""Static group membership: a collator restarted after SIGKILL takes its partitions back without waiting for
the dead member's session to time out, and a cleanly stopped one hands its partitions over at once.

The session timeout is set far above the waits (90 s, the most faust accepts), so that only static membership
(and the leave on a clean stop) can explain a takeover within them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from collator.app import create_app
from collator.membership import MAX_SLOTS, claim_instance, instance_id_of
from tests.collator.harness import batch_rows, chat_request, member_rows, produce
from tests.collator.worker_process import CollatorProcess
from tests.support.waiting import async_wait_for, wait_for

SESSION_S = 90
TAKEOVER_WAIT_S = 45.0
"""Well under the session timeout: the restarted worker starts (a few seconds) and submits."""
JSON_LOGS = {"BATCHGPT_LOG_FORMAT": "json"}


def test_slots_are_the_lowest_free_ones_and_an_explicit_id_wins(tmp_path: Path) -> None:
    first = claim_instance(tmp_path, host="worker.example")
    second = claim_instance(tmp_path, host="worker.example")
    assert (first.instance_id, second.instance_id) == ("worker.example-0", "worker.example-1")
    first.release()
    again = claim_instance(tmp_path, host="worker.example")
    assert again.instance_id == "worker.example-0"
    assert claim_instance(tmp_path, explicit="collator-3").instance_id == "collator-3"
    assert instance_id_of("host with spaces/and:colons", 2) == "host-with-spaces-and-colons-2"
    assert MAX_SLOTS >= 64


def test_the_slot_of_a_process_killed_with_sigkill_is_free_again(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from collator.membership import claim_instance; "
            f"c = claim_instance(Path({str(tmp_path)!r}), host='h'); print(c.instance_id, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "h-0"
        assert claim_instance(tmp_path, host="h").instance_id == "h-1"  # held by the live child
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert claim_instance(tmp_path, host="h").instance_id == "h-0"
    finally:
        holder.kill()
        holder.wait()


def _submitted(engine, request_ids: set[str]) -> bool:
    members = {m["request_id"]: m["batch_id"] for m in member_rows(engine)}
    uploaded = {r["id"] for r in batch_rows(engine) if r["upstream_batch_id"]}
    return all(members.get(request_id) in uploaded for request_id in request_ids)


def _instance_ids(log: str) -> list[str]:
    """The instance id each worker logged when it started running (JSON log lines)."""
    lines = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return [line["instance_id"] for line in lines if line.get("message") == "collator running"]


def test_a_worker_restarted_after_sigkill_takes_its_partitions_back_before_the_session_times_out(
    collator_settings, kafka_settings, db_engine, simulator, tmp_path
):
    settings = collator_settings(session_timeout_seconds=SESSION_S)
    log = tmp_path / "collator.log"
    before = [chat_request("gpt-4o-mini") for _ in range(3)]
    first = CollatorProcess(settings, log, JSON_LOGS)
    try:
        produce(kafka_settings, before)
        wait_for(lambda: _submitted(db_engine, {m.request_id for m in before}), timeout_s=60, what="the first batch")
        first.process.send_signal(signal.SIGKILL)
        assert first.wait(10) == -9
    finally:
        first.kill()
    killed_at = time.monotonic()
    after = [chat_request("gpt-4o") for _ in range(3)]
    produce(kafka_settings, after)
    second = CollatorProcess(settings, log, JSON_LOGS)
    try:
        wait_for(
            lambda: _submitted(db_engine, {m.request_id for m in after}),
            timeout_s=TAKEOVER_WAIT_S,
            what="the restarted worker reading the partitions of the killed one",
        )
        took = time.monotonic() - killed_at
        assert second.terminate() == 0, second.output()[-4000:]
    finally:
        second.kill()
    assert took < SESSION_S
    ids = _instance_ids(log.read_text(errors="replace"))
    assert len(ids) == 2 and ids[0] == ids[1], ids  # the restarted worker rejoined under the dead one's id
    assert simulator.stats()["custom_id_submissions"] == {m.request_id: 1 for m in before + after}


async def test_a_cleanly_stopped_worker_hands_its_partitions_over_at_once(
    collator_settings, kafka_settings, db_engine, simulator
):
    settings = collator_settings(session_timeout_seconds=SESSION_S)
    staying, leaving = create_app(settings, engine=db_engine), create_app(settings, engine=db_engine)
    assert staying.membership is not None and leaving.membership is not None
    assert staying.membership.instance_id != leaving.membership.instance_id
    async with staying.running():
        async with leaving.running():

            async def both_assigned() -> bool:
                return all(len(w.faust_app.consumer.assignment()) == 1 for w in (staying, leaving))

            await async_wait_for(both_assigned, timeout_s=60, what="each worker owning one partition")

        async def staying_has_both() -> bool:
            return len(staying.faust_app.consumer.assignment()) == 2

        await async_wait_for(staying_has_both, timeout_s=TAKEOVER_WAIT_S, what="the partitions of the stopped worker")
        messages = [chat_request("gpt-4o-mini") for _ in range(10)]
        produce(kafka_settings, messages)

        async def all_submitted() -> bool:
            return _submitted(db_engine, {m.request_id for m in messages})

        await async_wait_for(
            all_submitted,
            timeout_s=TAKEOVER_WAIT_S,
            what="every request submitted by the remaining worker",
        )
