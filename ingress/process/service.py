"""The ingress process's parts, built in one place from its settings; ``start`` connects, ``stop`` closes.

Building connects to nothing (the engine, producer and consumer are only configured); the app's
lifespan calls :meth:`IngressService.start` (migrate, create topics, start the producer, the reply
listener and the background loops) and :meth:`IngressService.stop`. Each handler is given the few
parts it uses, never this object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from batchgpt.kafka import AsyncProducer, ensure_topics, producer_config
from batchgpt.store.engine import make_engine, migrate
from batchgpt.upstream import Upstream, make_anthropic_upstream, make_upstream
from ingress.admission.admitter import AdmissionLimits, Admitter
from ingress.admission.publisher import RequestPublisher
from ingress.admission.records import Records
from ingress.admission.submitter import Submitter
from ingress.http.auth import KeyRing
from ingress.http.model_catalog import ModelCatalog
from ingress.metrics import IngressMetrics
from ingress.process.drain import Drain
from ingress.process.readiness import Readiness
from ingress.process.shared_metrics import SharedMetrics
from ingress.replies.correlator import Correlator
from ingress.replies.holder import Holder
from ingress.replies.listener import ReplyListener
from ingress.replies.sweeper import purge_loop, recheck_loop
from ingress.settings import IngressSettings
from ingress.upstream_notices import UpstreamNotices

__all__ = ["IngressService"]

logger = logging.getLogger(__name__)


class IngressService:
    """One ingress replica: its database, Kafka clients, waiting calls and background loops."""

    def __init__(self, settings: IngressSettings, shared_metrics: SharedMetrics | None = None) -> None:
        """``shared_metrics``: this process is one of several workers (their metrics summed at ``/metrics``)."""
        self.settings = settings
        self.metrics = IngressMetrics(shared_metrics)
        self.keys = KeyRing(key.get_secret_value() for key in settings.api_keys)
        self.engine = make_engine(settings.database_url)
        self.records = Records(self.engine)
        self.correlator = Correlator()
        self.drain = Drain(self.correlator)
        self.holder = Holder(self.correlator, self.drain, self.metrics)
        produce_ms = int(settings.produce_timeout_seconds * 1000)
        self._producer = AsyncProducer(producer_config(settings, **{"message.timeout.ms": produce_ms}))
        publisher = RequestPublisher(
            self._producer,
            settings.topics,
            reply_partition=settings.reply_partition,
            timeout_seconds=settings.produce_timeout_seconds,
            retry_after_seconds=settings.retry_after_seconds,
        )
        limits = AdmissionLimits(
            max_pending_per_key=settings.max_pending_per_key,
            result_ttl_seconds=settings.result_ttl_seconds,
            retry_after_seconds=settings.retry_after_seconds,
            max_group=settings.admission_group_max,
        )
        self.admitter = Admitter(self.records, publisher, self.metrics, limits)
        self.submitter = Submitter(
            self.admitter,
            self.holder,
            self.records,
            self.metrics,
            self.drain,
            retry_after_seconds=settings.retry_after_seconds,
        )
        self.listener = ReplyListener(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=settings.topics.replies,
            partition=settings.reply_partition,
            correlator=self.correlator,
            metrics=self.metrics,
        )
        self.notices = UpstreamNotices(
            self.engine, self._producer, settings.topics, timeout_seconds=settings.produce_timeout_seconds
        )
        self.readiness = Readiness(settings, self.engine, self.listener, self.drain)
        self.models = ModelCatalog(
            lambda: _upstream_or_none(settings),
            ttl_seconds=settings.models_ttl_seconds,
            retry_after_seconds=settings.retry_after_seconds,
        )
        self.anthropic_models = ModelCatalog(
            lambda: make_anthropic_upstream(settings) if settings.anthropic_api_key is not None else None,
            ttl_seconds=settings.models_ttl_seconds,
            retry_after_seconds=settings.retry_after_seconds,
        )
        """Anthropic's models, for an Anthropic SDK client's ``GET /v1/models`` (``ANTHROPIC_API_KEY`` set)."""
        self.started = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Migrate, create topics, start the producer, the reply listener and the background loops."""
        settings = self.settings
        await asyncio.to_thread(migrate, self.engine)
        await asyncio.to_thread(ensure_topics, settings)
        self._producer.start()
        await self.listener.start()
        self._tasks = [
            asyncio.create_task(recheck_loop(self.records, self.correlator, settings.result_recheck_seconds)),
            asyncio.create_task(purge_loop(self.records, settings.result_ttl_seconds, settings.purge_interval_seconds)),
        ]
        self.started = True
        logger.info(
            "ingress started",
            extra={"reply_group": self.listener.group_id, "reply_partition": settings.reply_partition},
        )

    async def stop(self) -> None:
        """Release held calls, stop the loops and the listener, flush the producer, close the database."""
        self.drain.begin_drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.admitter.close()
        await self.listener.stop()
        await self.models.close()
        await self.anthropic_models.close()
        undelivered = await asyncio.to_thread(self._producer.stop, 10.0)
        if undelivered:
            logger.error("producer stopped with undelivered messages", extra={"undelivered": undelivered})
        self.engine.dispose()
        self.started = False


def _upstream_or_none(settings: IngressSettings) -> Upstream | None:
    """The upstream edge for ``GET /v1/models`` (None when no ``OPENAI_API_KEY`` is set)."""
    return make_upstream(settings) if settings.upstream_key is not None else None
