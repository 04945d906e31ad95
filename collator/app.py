"""The composition root: ``create_app(settings)`` wires the faust worker, database, Kafka producer and upstream.

What it does: one faust agent (concurrency 1) reads the requests topic as raw bytes in processing-time
tumbling windows (``stream.take_events(max, within=window)``) and hands each window to the
:class:`~collator.pipeline.WindowProcessor`; a timer sweeps batches abandoned by dead workers. Offsets
are committed only for windows whose body returned. Example::

    collator = create_app(settings)
    async with collator.running():
        ...  # windows are processed until the block exits
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import faust
from faust.contrib.asgi import faust_app_running
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from batchgpt.kafka import AsyncProducer, producer_config
from batchgpt.store.engine import make_engine
from batchgpt.upstream import Backoff, Upstream, make_upstreams
from collator.crash import CrashHook
from collator.intake import RawRecord
from collator.membership import InstanceClaim, claim_instance, leave_on_stop
from collator.metrics import CollatorMetrics
from collator.pipeline import Limits, WindowProcessor
from collator.publisher import Publisher
from collator.settings import CollatorSettings
from collator.submitter import Submitter
from schemas.status import Provider

__all__ = ["Collator", "create_app"]

logger = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 30.0


def _hard_exit() -> None:
    logging.shutdown()
    os._exit(1)


class Collator:
    """One collator worker: its faust app, processor and I/O resources."""

    def __init__(
        self,
        settings: CollatorSettings,
        *,
        engine: Engine,
        producer: AsyncProducer,
        upstreams: Mapping[str, Upstream],
        metrics: CollatorMetrics,
        crash_hook: CrashHook,
        owner: str,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.producer = producer
        self.upstreams = dict(upstreams)
        self.metrics = metrics
        self.owner = owner
        self.processor = WindowProcessor(
            engine=engine,
            publisher=Publisher(producer, settings.topics),
            submitter=Submitter(
                upstreams,
                metrics=metrics,
                max_attempts=settings.submit_max_attempts,
                backoff=Backoff(base_s=settings.submit_backoff_seconds, cap_s=settings.submit_backoff_max_seconds),
            ),
            metrics=metrics,
            limits=Limits(
                max_batch_requests=settings.max_batch_requests,
                max_batch_bytes=settings.max_batch_bytes,
                max_batch_inputs=settings.max_batch_embedding_inputs,
                lease_s=settings.lease_seconds,
                submit_concurrency=settings.submit_concurrency,
                deadlines=settings.deadlines_on,
            ),
            owner=owner,
            crash_hook=crash_hook,
        )
        self._inflight: set[asyncio.Task[None]] = set()
        self._on_stuck: Callable[[], None] = _hard_exit
        self.membership: InstanceClaim | None = None
        if settings.static_membership:
            slots = Path(tempfile.gettempdir()) / "batch-gpt" / f"{self.group_id}-instances"
            self.membership = claim_instance(slots, explicit=settings.instance_id)
        self.faust_app = self._build_faust_app()

    @property
    def group_id(self) -> str:
        """The consumer group (the faust app id): stable across restarts, shared by all workers."""
        return f"{self.settings.topic_prefix}collator"

    def _build_faust_app(self) -> faust.App:
        settings = self.settings
        # faust makes a data directory even without tables (the store is memory://): keep it out of the cwd
        datadir = Path(tempfile.gettempdir()) / "batch-gpt" / f"{self.group_id}-faust"
        datadir.parent.mkdir(parents=True, exist_ok=True)
        app = faust.App(
            self.group_id,
            datadir=datadir,
            broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
            store="memory://",
            web_enabled=False,
            topic_partitions=settings.topic_partitions,
            topic_disable_leader=True,
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=settings.commit_interval_seconds,
            broker_commit_every=1000,
            broker_session_timeout=settings.session_timeout_seconds,
            broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 4),
            consumer_group_instance_id=self.membership.instance_id if self.membership else None,
            autodiscover=False,
        )
        topic = app.topic(
            settings.topics.requests,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            allow_empty=True,
        )
        max_events = settings.window_max_requests
        within = settings.window_seconds

        async def collate(stream: Any) -> None:
            async for events in stream.take_events(max_events, within=within):
                records = [
                    RawRecord(
                        topic=e.message.topic,
                        partition=e.message.partition,
                        offset=e.message.offset,
                        key=e.message.key,
                        value=e.message.value,
                    )
                    for e in events
                ]
                await self._shielded(self.processor.process_window(records))

        async def sweep() -> None:
            await self._shielded(self.processor.sweep())

        app.agent(topic, name=f"{self.group_id}.collate", concurrency=1)(collate)
        app.timer(interval=settings.sweep_interval_seconds)(sweep)
        return app

    async def _shielded(self, work: Any) -> None:
        """Run ``work`` to completion even if the agent is cancelled during shutdown."""
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        await asyncio.shield(task)

    async def wait_idle(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Wait for the window, sweep and batch submissions in progress (if any) to finish.

        If it does not finish in time the process exits at once (status 1), before Kafka could commit
        the window's offsets: the window is then redelivered rather than lost.
        """
        work = set(self._inflight) | set(self.processor.background)
        if not work:
            return
        _done, pending = await asyncio.wait(work, timeout=timeout_s)
        if pending:
            logger.critical("in-flight window did not finish during shutdown; exiting without committing")
            self._on_stuck()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Collator]:
        """Start the producer and the faust worker; on exit, finish in-flight work, stop consuming, close."""
        self.producer.start()
        try:
            async with self.processor.heartbeat.running():  # the leases of batches still being submitted, to the end
                async with faust_app_running(self.faust_app, stop_timeout=_STOP_TIMEOUT_S):
                    try:
                        yield self
                    finally:
                        await self.wait_idle()
                        if self.membership is not None:  # a clean stop hands the partitions over at once
                            leave_on_stop(self.faust_app.consumer)
                await self.wait_idle()  # a window that started during the first wait
        finally:
            if self.membership is not None:
                self.membership.release()
            await asyncio.to_thread(self.producer.stop)
            for upstream in self.upstreams.values():
                await upstream.close()


def create_app(
    settings: CollatorSettings,
    *,
    engine: Engine | None = None,
    upstream: Upstream | None = None,
    upstreams: Mapping[str, Upstream] | None = None,
    registry: CollectorRegistry | None = None,
    crash_hook: CrashHook | None = None,
    owner: str | None = None,
) -> Collator:
    """Build a collator worker from its settings (nothing connects until :meth:`Collator.running`).

    ``upstreams`` (provider -> upstream) wins over ``upstream`` (the OpenAI-family one alone); without either,
    every provider the settings configure (:func:`batchgpt.upstream.make_upstreams`)."""
    engine = engine or make_engine(settings.database_url)
    if upstreams is None:  # the Anthropic upstream finds its batches again through the database
        lookup_pages = settings.upstream_lookup_pages
        one = {Provider.OPENAI.value: upstream} if upstream is not None else None
        upstreams = one or make_upstreams(settings, engine=engine, lookup_pages=lookup_pages)
    return Collator(
        settings,
        engine=engine,
        producer=AsyncProducer(producer_config(settings)),
        upstreams=upstreams,
        metrics=CollatorMetrics(registry),
        crash_hook=crash_hook or CrashHook(settings.test_crash_at, settings.test_crash_count),
        owner=owner or f"collator-{uuid.uuid4().hex[:12]}",
    )
