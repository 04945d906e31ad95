"""What a resolver test works with, in one value: the resolver's settings, the test's topics and database,
the simulator with the collator's SDK client, and a reader of the default replies topic; plus the waits on
the database and on that topic that every test uses.

::

    async def test_something(rig: ResolverRig, unique_id: str) -> None:
        batch_id = rig.submit([make_request(f"x-{unique_id}", "hi")])    # recorded as the collator does
        [row] = await rig.resolve(batch_id)                              # a resolver runs until it is resolved
        replies = await rig.wait_replies(1)                              # read from the default replies topic
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openai import OpenAI
from sqlalchemy import Engine, select

from batchgpt.settings import KafkaSettings
from batchgpt.simulator.testing import RunningSimulator
from batchgpt.store.tables import batch_members, batches
from resolver.app import running_resolver
from resolver.settings import ResolverSettings
from schemas import ReplyMessage, RequestMessage
from tests.resolver.collator_role import submit_as_collator
from tests.resolver.topic_reader import TopicReader
from tests.support.waiting import async_wait_for

__all__ = ["ResolverRig", "batch_row", "member_outcomes", "wait_resolved", "wait_until"]


def batch_row(engine: Engine, batch_id: str) -> Any:
    """The batches row."""
    with engine.connect() as conn:
        return conn.execute(select(batches).where(batches.c.id == batch_id)).one()


def member_outcomes(engine: Engine, batch_id: str) -> dict[str, str | None]:
    """Request id -> the ``batch_members.outcome`` of each member of the batch."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(batch_members.c.request_id, batch_members.c.outcome).where(batch_members.c.batch_id == batch_id)
        )
        return {request_id: outcome for request_id, outcome in rows}


async def wait_resolved(engine: Engine, batch_id: str, timeout_s: float = 30.0) -> Any:
    """Wait until the resolver set ``resolved_at``; return the row."""

    async def resolved() -> Any:
        row = await asyncio.to_thread(batch_row, engine, batch_id)
        return row if row.resolved_at is not None else None

    return await async_wait_for(resolved, timeout_s=timeout_s, what=f"batch {batch_id} resolved")


async def wait_until(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "") -> Any:
    """Run a blocking check in a thread until it is truthy."""

    async def condition() -> Any:
        return await asyncio.to_thread(check)

    return await async_wait_for(condition, timeout_s=timeout_s, what=what)


@dataclass(frozen=True)
class ResolverRig:
    """One resolver test's parts (the ``rig`` fixture) and the steps its tests repeat."""

    settings: ResolverSettings
    kafka: KafkaSettings
    engine: Engine
    sim: RunningSimulator
    client: OpenAI
    default_replies: TopicReader

    def submit(self, members: Sequence[RequestMessage], *, extra_members: Sequence[RequestMessage] = ()) -> str:
        """Create the batch on the simulator and record it as the collator does; our batch id."""
        return submit_as_collator(client=self.client, engine=self.engine, members=members, extra_members=extra_members)

    def row(self, batch_id: str) -> Any:
        """The batch's row now."""
        return batch_row(self.engine, batch_id)

    def outcomes(self, batch_id: str) -> dict[str, str | None]:
        """Request id -> member outcome of the batch."""
        return member_outcomes(self.engine, batch_id)

    async def resolve(self, *batch_ids: str, settings: ResolverSettings | None = None) -> list[Any]:
        """Run a resolver (with ``settings``, else the rig's) until every batch is resolved; their rows."""
        async with running_resolver(settings or self.settings):
            return [await wait_resolved(self.engine, batch_id) for batch_id in batch_ids]

    async def wait_replies(self, count: int, what: str = "") -> list[ReplyMessage]:
        """Every reply on the default replies topic, once there are at least ``count``."""

        def enough() -> list[ReplyMessage] | None:
            replies = self.default_replies.replies()
            return replies if len(replies) >= count else None

        found: list[ReplyMessage] = await wait_until(enough, what=what or f"{count} replies")
        return found

    async def replies_by_id(self, count: int, what: str = "") -> dict[str, ReplyMessage]:
        """:meth:`wait_replies`, keyed by request id."""
        return {reply.request_id: reply for reply in await self.wait_replies(count, what)}
