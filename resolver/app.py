"""The resolver's composition root: builds the engine, upstream provider, producer and metrics from
``ResolverSettings`` and runs the worker loop plus the batch-event wake-ups until stopped.

::

    stop = asyncio.Event()
    await run(settings, stop=stop)          # returns once stop is set and in-flight steps ended

    async with running_resolver(settings) as resolver:   # tests: run in the background
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from batchgpt.kafka import AsyncProducer, producer_config
from batchgpt.store.engine import make_engine
from batchgpt.upstream import Upstream, make_upstream, make_upstreams
from batchgpt.webhooks.delivery import WebhookDelivery
from batchgpt.webhooks.outbox import WebhookOutbox
from resolver.context import WorkerContext
from resolver.crash import CrashHook
from resolver.deadlines import run_deadline_sweep
from resolver.metrics import ResolverMetrics
from resolver.publisher import Publisher
from resolver.settings import ResolverSettings
from resolver.wakeups import consume_wakeups
from resolver.webhook_wakeups import due_now_on_notice
from resolver.worker import run_worker
from schemas.status import Provider

__all__ = ["RunningResolver", "default_worker_id", "run", "running_resolver"]

logger = logging.getLogger(__name__)


def default_worker_id() -> str:
    """``host:pid:random``: unique per process start, readable in the ``lease_owner`` column."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class RunningResolver:
    """A resolver started by :func:`running_resolver`: its stop switch, metrics and worker id."""

    stop: asyncio.Event
    metrics: ResolverMetrics
    owner: str
    task: asyncio.Task[None]


async def run(
    settings: ResolverSettings,
    *,
    stop: asyncio.Event,
    metrics: ResolverMetrics | None = None,
    upstream: Upstream | None = None,
    upstreams: Mapping[str, Upstream] | None = None,
    owner: str | None = None,
) -> None:
    """Run one resolver worker until ``stop`` is set (the topics and schema must exist).

    ``upstreams`` maps a provider to its upstream (without it or ``upstream``: every provider the settings
    configure); the ``openai`` one (else ``upstream``, else the one the settings make) serves every provider
    without its own."""
    metrics = metrics or ResolverMetrics()
    owner = owner or settings.worker_id or default_worker_id()
    engine = make_engine(settings.database_url)
    producer = AsyncProducer(producer_config(settings))
    producer.start()
    made = make_upstreams(settings) if upstreams is None and upstream is None else {}
    by_provider: dict[str, Upstream | None] = {**made, **(upstreams or {})}
    outbox = WebhookOutbox(producer, settings.topics, engine) if settings.webhooks_out else None
    ctx = WorkerContext(
        settings=settings,
        engine=engine,
        upstream=by_provider.pop(Provider.OPENAI.value, None) or upstream or make_upstream(settings),
        upstreams={provider: other for provider, other in by_provider.items() if other is not None},
        publisher=Publisher(producer, settings.topics, outbox=outbox),
        metrics=metrics,
        owner=owner,
        crash=CrashHook(settings.test_crash_at),
        prices=settings.price_table(),
        outbox=outbox,
    )
    wake = asyncio.Event()
    background = [
        asyncio.create_task(
            consume_wakeups(
                settings,
                wake,
                stop,
                due_now_on_notice(engine, lease_seconds=settings.lease_seconds, wake=wake.set, stop=stop),
            ),
            name="resolver-wakeups",
        ),
        asyncio.create_task(run_deadline_sweep(ctx, stop), name="resolver-deadlines"),
    ]
    if settings.webhooks_out:  # the delivery worker: its own task and consumer, never in the way of the steps
        delivery = WebhookDelivery(settings, settings, producer, metrics.webhooks)
        background.append(asyncio.create_task(delivery.run(stop), name="resolver-webhook-delivery"))
    logger.info("resolver started", extra={"owner": owner, "poll_interval_s": settings.poll_interval_seconds})
    try:
        await run_worker(ctx, wake, stop)
    finally:
        stop.set()
        for task in background:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=15)
        await asyncio.to_thread(producer.stop, 10.0)
        for provider_upstream in (ctx.upstream, *ctx.upstreams.values()):
            await provider_upstream.close()
        engine.dispose()
        logger.info("resolver stopped", extra={"owner": owner})


@contextlib.asynccontextmanager
async def running_resolver(
    settings: ResolverSettings, *, registry: CollectorRegistry | None = None, owner: str | None = None
) -> AsyncIterator[RunningResolver]:
    """Run a resolver in the background of the current event loop; stop it cleanly on exit."""
    stop = asyncio.Event()
    metrics = ResolverMetrics(registry)
    owner = owner or settings.worker_id or default_worker_id()
    task = asyncio.create_task(run(settings, stop=stop, metrics=metrics, owner=owner), name=f"resolver-{owner}")
    handle = RunningResolver(stop=stop, metrics=metrics, owner=owner, task=task)
    try:
        yield handle
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
