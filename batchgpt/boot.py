"""The one start-up sequence of the three services' ``__main__``.

Every service starts the same way, in the same order, so that a bad start fails the same way:

1. settings read once from the environment (plus the CLI flags), validated; a bad value exits 2
   naming the variable;
2. the upstream key checked when the service calls the provider (exit 2 when missing);
3. logging configured (JSON lines on stderr);
4. the Kafka topics created when missing (an unusable broker exits 1) and the database migrated,
   for the services that do not do it in their own lifespan;
5. the Prometheus endpoint started on ``BATCHGPT_METRICS_PORT`` when set;
6. the service's coroutine run until SIGTERM or SIGINT sets its stop event.

The collator and the resolver take all six steps through :func:`run_worker`; the ingress takes steps 1–3
(:func:`start`) and does the rest in its app's lifespan, once per worker process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from confluent_kafka import KafkaException
from prometheus_client import CollectorRegistry, start_http_server
from pydantic import SecretStr

from batchgpt.kafka import ensure_topics
from batchgpt.logging_setup import configure_logging
from batchgpt.settings import KafkaSettings, LoggingSettings, WorkerSettings, settings_or_exit
from batchgpt.store.engine import make_engine, migrate

__all__ = [
    "BootFailed",
    "flag_overrides",
    "prepare_storage",
    "run_until_signalled",
    "run_worker",
    "serve_metrics",
    "start",
    "stop_requested",
]

logger = logging.getLogger(__name__)


S = TypeVar("S", bound=LoggingSettings)
W = TypeVar("W", bound=WorkerSettings)


class BootFailed(Exception):
    """A start-up step failed and said why on stderr; the process exits with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"start-up failed (exit {code})")
        self.code = code


def flag_overrides(args: argparse.Namespace, fields: Mapping[str, str]) -> dict[str, Any]:
    """Settings overrides from the CLI flags that were given: ``{flag attribute: settings field}``."""
    return {field: getattr(args, flag) for flag, field in fields.items() if getattr(args, flag) is not None}


def start(
    cls: type[S], service: str, overrides: Mapping[str, Any], *, upstream_key: Callable[[S], SecretStr | None] | None
) -> S:
    """Steps 1–3: settings, the upstream key (when ``upstream_key`` reads one), logging."""
    settings = settings_or_exit(cls, service, **overrides)
    if upstream_key is not None:
        key = upstream_key(settings)
        if key is None or not key.get_secret_value():
            sys.stderr.write(
                f"batch-gpt {service}: OPENAI_API_KEY is not set (the upstream Batch API key; for Azure OpenAI "
                "set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY instead)\n"
            )
            raise BootFailed(2)
    configure_logging(settings, service)
    return settings


def prepare_storage(settings: KafkaSettings, database_url: str, service: str) -> None:
    """Step 4: create missing topics and migrate the database."""
    try:
        ensure_topics(settings)
    except KafkaException as exc:
        sys.stderr.write(f"batch-gpt {service}: Kafka at {settings.kafka_bootstrap_servers} is not usable: {exc}\n")
        raise BootFailed(1) from None
    engine = make_engine(database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


def serve_metrics(port: int | None, registry: CollectorRegistry) -> None:
    """Step 5: the Prometheus endpoint of this process, when a port is configured."""
    if port is None:
        return
    start_http_server(port, addr="0.0.0.0", registry=registry)  # noqa: S104 - scraped from other hosts
    logger.info("metrics served", extra={"port": port})


def run_until_signalled(body: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Step 6: run ``body(stop)`` on a new event loop; SIGTERM and SIGINT set ``stop``."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await body(stop)

    asyncio.run(main())


def run_worker(
    cls: type[W],
    service: str,
    overrides: Mapping[str, Any],
    body: Callable[[W, CollectorRegistry, asyncio.Event], Awaitable[None]],
) -> int:
    """Steps 1–6 for a service that works with the provider (collator, resolver): ``body(settings, registry,
    stop)`` runs with the registry served on ``BATCHGPT_METRICS_PORT``.

    :returns: the exit status: 0 after a clean shutdown, 2 on a bad setting or no upstream key, 1 when Kafka
        is unusable.
    """
    try:
        settings = start(cls, service, overrides, upstream_key=lambda s: s.upstream_key)
        prepare_storage(settings, settings.database_url, service)
    except BootFailed as failed:
        return failed.code
    registry = CollectorRegistry()
    serve_metrics(settings.metrics_port, registry)
    run_until_signalled(lambda stop: body(settings, registry, stop))
    return 0


def stop_requested() -> Callable[[], bool]:
    """For a synchronous supervisor loop: SIGTERM and SIGINT from now on make the returned check true."""
    flag = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: flag.set())
    return flag.is_set
