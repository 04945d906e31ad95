"""The scale-out run's stack: two collators, two resolvers and a two-worker ingress on a 4-partition topic, as
``bench/openloop.py --ingress-workers 2 --collators 2 --resolvers 2`` starts it, answer calls with every process
alive and every process in the CPU figures."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient
from openai import AsyncOpenAI

from batchgpt.devstack.stack import running_stack
from batchgpt.simulator.answers import expected_chat_content
from bench.targets import batch_gpt_name, process_label, process_tree
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _partitions_held(bootstrap: str, group: str) -> list[int]:
    """How many partitions each member of a stable consumer group holds (empty while it rebalances)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    if described.state != ConsumerGroupState.STABLE:
        return []
    return sorted(len(member.assignment.topic_partitions) for member in described.members)


async def test_two_of_each_service_answer_calls_share_the_work_and_are_all_counted(
    kafka_bootstrap: str, unique_id: str, tmp_path: Path
) -> None:
    with running_stack(
        bootstrap=kafka_bootstrap,
        topic_prefix=f"s{unique_id}.",
        database_url=f"sqlite:///{tmp_path / 'scaleout.sqlite3'}",
        state=tmp_path / "stack",
        window_ms=300,
        extra_env={"BATCHGPT_INGRESS_WORKERS": "2", "BATCHGPT_TOPIC_PARTITIONS": "4"},
        collators=2,
        resolvers=2,
    ) as stack:
        assert list(stack.procs) == ["collator", "collator-2", "resolver", "resolver-2", "ingress"]
        assert stack.env["BATCHGPT_TOPIC_PARTITIONS"] == "4"  # the caller's setting wins over the stack's own
        # the two collators are one consumer group, the four partitions split between them
        wait_for(
            lambda: _partitions_held(kafka_bootstrap, f"s{unique_id}.collator") == [2, 2],
            timeout_s=30,
            interval_s=0.5,
            what="the two collators to hold two partitions each",
        )

        client = AsyncOpenAI(base_url=stack.base_url, api_key="sk-any", timeout=60)
        prompts = [f"scale-out {i} {uuid.uuid4().hex}" for i in range(8)]
        replies = await asyncio.gather(
            *(
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
                for prompt in prompts
            )
        )
        await client.close()
        for prompt, reply in zip(prompts, replies, strict=True):
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
            assert reply.choices[0].message.content == expected_chat_content(body)

        dead = {name: proc.returncode() for name, proc in stack.procs.items() if proc.exited()}
        assert dead == {}
        # the ingress's CPU figure is its parent's and both workers'; each replica is a figure of its own
        ingress = stack.procs["ingress"].popen.pid
        assert len(process_tree(ingress)) == 3
        assert process_label("ingress", ingress) == "ingress (3 processes)"
        assert process_label("collator-2", stack.procs["collator-2"].popen.pid) == "collator-2"


def test_the_targets_name_says_what_ran() -> None:
    assert (
        batch_gpt_name(2, 2, 2, "4")
        == "batch-gpt (2 ingress workers → Kafka (4 partitions) → 2 collators → 2 resolvers)"
    )
    assert batch_gpt_name(None, 1, 1, None) == "batch-gpt (default ingress workers → Kafka → collator → resolver)"
