"""The resolver with Azure OpenAI's variables: Azure asks batch jobs to be polled no more often than every 60 s, so
without ``BATCHGPT_POLL_INTERVAL_S`` every next poll is at least 60 s after the last one (the jitter only
stretches it); once a batch is resolved its input file is deleted upstream; and a batch running past 24 h (Azure
never expires one) is followed to its end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from openai import OpenAI
from sqlalchemy import Engine, select

from batchgpt.settings import KafkaSettings
from batchgpt.simulator.answers import expected_chat_content
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import RunningSimulator, run_simulator
from batchgpt.store.tables import results
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from tests.resolver.collator_role import make_request, submit_as_collator
from tests.resolver.conftest import FAST_PHASES, batch_row, wait_resolved, wait_until

KEY = "azure-test-key"


@dataclass
class AzureCase:
    """A simulator in Azure's dialect, the SDK client the collator role submits with, and resolver settings."""

    sim: RunningSimulator
    client: OpenAI
    kafka: KafkaSettings
    database_url: str

    def settings(self, **extra: Any) -> ResolverSettings:
        """Resolver settings with Azure's variables on this test's topics and database (plus ``extra``)."""
        return ResolverSettings(
            kafka_bootstrap_servers=self.kafka.kafka_bootstrap_servers,
            topic_prefix=self.kafka.topic_prefix,
            topic_partitions=2,
            database_url=self.database_url,
            azure_openai_endpoint=self.sim.root_url,
            azure_openai_api_key=KEY,
            idle_scan_seconds=0.1,
            lease_seconds=5.0,
            log_format="text",
            **extra,
        )


@pytest.fixture
def azure(kafka_settings: KafkaSettings, database_url: str) -> Iterator[AzureCase]:
    with run_simulator(SimulatorSettings(log_level="warning", dialect="azure", **FAST_PHASES)) as sim:
        client = OpenAI(base_url=sim.base_url, api_key=KEY, default_headers={"api-key": KEY}, max_retries=0)
        yield AzureCase(sim=sim, client=client, kafka=kafka_settings, database_url=database_url)
        client.close()


async def test_azure_batches_are_polled_no_more_often_than_every_60_seconds_by_default(
    azure: AzureCase, db_engine: Engine, unique_id: str
) -> None:
    azure_sim, azure_client = azure.sim, azure.client
    # a wide jitter: without the 60 s floor about half of the next polls would come sooner
    settings = azure.settings(poll_jitter_fraction=0.9)
    assert settings.poll_interval_seconds == 60.0
    batch_ids = [
        submit_as_collator(
            client=azure_client,
            engine=db_engine,
            members=[make_request(f"az-{unique_id}-{i}", f"question {i} [sim:slow]")],
        )
        for i in range(6)
    ]
    before = time.time()
    async with running_resolver(settings):

        def all_polled_once() -> bool:
            rows = [batch_row(db_engine, b) for b in batch_ids]
            return all(r.lease_owner is None and r.next_poll_at is not None and r.next_poll_at > before for r in rows)

        await wait_until(all_polled_once, what="every batch polled once and released")
        rows = [batch_row(db_engine, b) for b in batch_ids]
    assert azure_sim.stats()["api_calls"]["batches.retrieve"] == len(batch_ids)  # one poll each, no more
    assert all(row.next_poll_at >= before + 60.0 for row in rows), [row.next_poll_at - before for row in rows]
    assert all(row.status == "in_progress" for row in rows)  # still running upstream (a slow line each)


async def test_a_resolved_azure_batch_has_its_input_file_deleted(
    azure: AzureCase, db_engine: Engine, unique_id: str
) -> None:
    azure_sim, azure_client = azure.sim, azure.client
    settings = azure.settings(poll_interval_seconds=0.05)
    assert settings.min_poll_gap_for("openai") == 0.0  # an interval set by the operator wins
    batch_id = submit_as_collator(
        client=azure_client, engine=db_engine, members=[make_request(f"del-{unique_id}", "delete my input")]
    )
    input_file_id = batch_row(db_engine, batch_id).input_file_id
    assert input_file_id and azure_sim.stats()["files_by_purpose"] == {"batch": 1}
    async with running_resolver(settings):
        await wait_resolved(db_engine, batch_id)
    assert azure_sim.stats()["files_by_purpose"].get("batch", 0) == 0
    assert [f.id for f in azure_client.files.list(purpose="batch")] == []


async def test_an_azure_batch_running_past_24_hours_is_followed_to_its_end(
    azure: AzureCase, db_engine: Engine, unique_id: str
) -> None:
    azure.sim.configure(slow_line_seconds=30 * 3600)  # the line takes 30 h: OpenAI would have expired the batch
    request = make_request(f"long-{unique_id}", "a long job [sim:slow]")
    batch_id = submit_as_collator(client=azure.client, engine=db_engine, members=[request])

    def polls() -> int:
        return int(azure.sim.stats()["api_calls"].get("batches.retrieve", 0))

    async with running_resolver(azure.settings(poll_interval_seconds=0.05)):
        await wait_until(lambda: batch_row(db_engine, batch_id).status == "in_progress", what="the batch running")
        azure.sim.advance_clock(25 * 3600)
        seen = polls()
        await wait_until(lambda: polls() >= seen + 3, what="more polls after 25 h")
        row = batch_row(db_engine, batch_id)
        assert (row.status, row.resolved_at) == ("in_progress", None)  # still followed, not taken as stuck
        azure.sim.advance_clock(6 * 3600)
        await wait_resolved(db_engine, batch_id)
    with db_engine.connect() as conn:
        result = conn.execute(select(results).where(results.c.request_id == request.request_id)).one()
    assert (result.status, result.status_code) == ("completed", 200)
    assert json.loads(result.body)["choices"][0]["message"]["content"] == expected_chat_content(request.body)
