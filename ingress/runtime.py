"""The ingress process's live parts: engine, producer, reply listener, correlator, background loops.

Built (without connecting) by ``create_app``; started and stopped by the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import Engine

from batchgpt.kafka import AsyncProducer, ensure_topics, ping_kafka, producer_config
from batchgpt.store import requests
from batchgpt.store.admission import Admission, Outcome, admit_group
from batchgpt.store.engine import make_engine, migrate
from batchgpt.store.engine import ping as ping_db
from ingress.auth import KeyRing
from ingress.correlator import Correlator
from ingress.group_commit import GroupCommitter
from ingress.keyed_lock import KeyedLock
from ingress.metrics import IngressMetrics
from ingress.pending_cap import PendingCounter
from ingress.publisher import RequestPublisher
from ingress.replies import ReplyListener
from ingress.settings import IngressSettings
from ingress.sweeper import purge_loop, recheck_loop

__all__ = ["IngressRuntime"]

logger = logging.getLogger(__name__)


class IngressRuntime:
    """Everything a request handler needs, owned by one app instance."""

    def __init__(self, settings: IngressSettings) -> None:
        self.settings = settings
        self.metrics = IngressMetrics()
        self.correlator = Correlator()
        self.gate = KeyedLock()
        self.pending = PendingCounter(self._count_pending)
        self.keys = KeyRing(key.get_secret_value() for key in settings.api_keys)
        self.draining = False
        self.started = False
        self._engine: Engine | None = None
        self._producer: AsyncProducer | None = None
        self._publisher: RequestPublisher | None = None
        self._admissions: GroupCommitter[Admission, Outcome] | None = None
        self._listener: ReplyListener | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def _count_pending(self, tenant: str) -> int:
        since = time.time() - self.settings.result_ttl_seconds
        return await asyncio.to_thread(requests.count_pending, self.engine, tenant=tenant, since=since)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the ingress runtime is not started")
        return self._engine

    @property
    def admissions(self) -> GroupCommitter[Admission, Outcome]:
        if self._admissions is None:
            raise RuntimeError("the ingress runtime is not started")
        return self._admissions

    @property
    def publisher(self) -> RequestPublisher:
        if self._publisher is None:
            raise RuntimeError("the ingress runtime is not started")
        return self._publisher

    @property
    def listener(self) -> ReplyListener | None:
        return self._listener

    async def start(self) -> None:
        """Migrate, create topics, start the producer, the reply listener and the background loops."""
        settings = self.settings
        self._engine = make_engine(settings.database_url)
        await asyncio.to_thread(migrate, self._engine)
        engine = self._engine
        self._admissions = GroupCommitter(
            lambda group: admit_group(engine, group),
            max_group=settings.admission_group_max,
            on_group=self.metrics.admission_group.observe,
        )
        await asyncio.to_thread(ensure_topics, settings)
        produce_ms = int(settings.produce_timeout_seconds * 1000)
        self._producer = AsyncProducer(producer_config(settings, **{"message.timeout.ms": produce_ms}))
        self._producer.start()
        self._publisher = RequestPublisher(
            self._producer,
            settings.topics,
            reply_partition=settings.reply_partition,
            timeout_seconds=settings.produce_timeout_seconds,
            retry_after_seconds=settings.retry_after_seconds,
        )
        self._listener = ReplyListener(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=settings.topics.replies,
            partition=settings.reply_partition,
            correlator=self.correlator,
            metrics=self.metrics,
        )
        await self._listener.start()
        self._tasks = [
            asyncio.create_task(recheck_loop(self._engine, self.correlator, settings.result_recheck_seconds)),
            asyncio.create_task(purge_loop(self._engine, settings.result_ttl_seconds, settings.purge_interval_seconds)),
        ]
        self.started = True
        logger.info(
            "ingress started",
            extra={"reply_group": self._listener.group_id, "reply_partition": settings.reply_partition},
        )

    def begin_drain(self) -> int:
        """Stop accepting and answer every held call now (with 202 and its id); return how many were held."""
        self.draining = True
        released = self.correlator.release_all()
        logger.info("draining: held calls released", extra={"released": released})
        return released

    async def stop(self) -> None:
        """Release held calls, stop the loops and the listener, flush the producer, close the database."""
        self.begin_drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._admissions is not None:
            await self._admissions.close()
        if self._listener is not None:
            await self._listener.stop()
        if self._producer is not None:
            undelivered = await asyncio.to_thread(self._producer.stop, 10.0)
            if undelivered:
                logger.error("producer stopped with undelivered messages", extra={"undelivered": undelivered})
        if self._engine is not None:
            self._engine.dispose()
        self.started = False

    async def readiness(self) -> dict[str, str]:
        """Ping Kafka and the database; each check is ``ok`` or the error's text."""
        checks: dict[str, str] = {}
        try:
            await asyncio.to_thread(ping_kafka, self.settings, 2.0)
            checks["kafka"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["kafka"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.to_thread(ping_db, self.engine)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["replies"] = "ok" if self._listener is not None and self._listener.assigned else "not assigned"
        if self.draining:
            checks["shutdown"] = "draining"
        return checks
