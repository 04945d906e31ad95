"""``batch-gpt resolver``: settings once, logging, topics, migrations, metrics server, then run until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from prometheus_client import start_http_server

from batchgpt.kafka import ensure_topics
from batchgpt.logging_setup import configure_logging
from batchgpt.settings import settings_or_exit
from batchgpt.store.engine import make_engine, migrate
from resolver.app import run
from resolver.metrics import ResolverMetrics
from resolver.settings import ResolverSettings

__all__ = ["main"]

logger = logging.getLogger("resolver")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batch-gpt resolver", description="Follow upstream batches and answer them.")
    parser.add_argument("--metrics-port", type=int, help="serve /metrics on this port (BATCHGPT_METRICS_PORT)")
    parser.add_argument("--poll-interval", type=float, help="seconds between polls (BATCHGPT_POLL_INTERVAL_S)")
    parser.add_argument("--concurrency", type=int, help="batches handled at once (BATCHGPT_RESOLVER_CONCURRENCY)")
    return parser.parse_args(argv)


async def _serve(settings: ResolverSettings, metrics: ResolverMetrics) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, stop=stop, metrics=metrics)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``batch-gpt resolver``; returns the exit status."""
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    overrides = {
        name: value
        for name, value in (
            ("metrics_port", args.metrics_port),
            ("poll_interval_seconds", args.poll_interval),
            ("max_concurrent_batches", args.concurrency),
        )
        if value is not None
    }
    settings = settings_or_exit(ResolverSettings, "resolver", **overrides)
    configure_logging(settings, "resolver")
    if settings.openai_api_key is None:
        sys.stderr.write("batch-gpt resolver: OPENAI_API_KEY is not set\n")
        return 2
    ensure_topics(settings)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    metrics = ResolverMetrics()
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr="0.0.0.0", registry=metrics.registry)  # noqa: S104
        logger.info("metrics served", extra={"port": settings.metrics_port})
    asyncio.run(_serve(settings, metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
