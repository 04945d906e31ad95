"""``batch-gpt collator``: load settings once, prepare topics and database, run the worker until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from confluent_kafka import KafkaException
from prometheus_client import CollectorRegistry, start_http_server

from batchgpt.kafka import ensure_topics
from batchgpt.logging_setup import configure_logging
from batchgpt.settings import settings_or_exit
from batchgpt.store.engine import make_engine, migrate
from collator.app import create_app
from collator.settings import CollatorSettings

__all__ = ["main"]

logger = logging.getLogger("collator")


def _parse(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="batch-gpt collator", description="Windows requests into upstream batches.")
    parser.add_argument("--window-ms", type=int, help="COLLATE_BATCHES_FOR_DURATION_IN_MS")
    parser.add_argument("--metrics-port", type=int, help="BATCHGPT_METRICS_PORT")
    parser.add_argument("--log-level", help="BATCHGPT_LOG_LEVEL")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.window_ms is not None:
        overrides["window_ms"] = args.window_ms
    if args.metrics_port is not None:
        overrides["metrics_port"] = args.metrics_port
    if args.log_level is not None:
        overrides["log_level"] = args.log_level
    return overrides


async def _run(settings: CollatorSettings, registry: CollectorRegistry) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    collator = create_app(settings, registry=registry)
    async with collator.running():
        logger.info("collator running", extra={"group": collator.group_id, "owner": collator.owner,
                                                "window_ms": settings.window_ms})
        await stop.wait()
        logger.info("collator stopping")
    collator.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the collator; 0 after a clean shutdown, 2 on a bad setting."""
    overrides = _parse(sys.argv[1:] if argv is None else argv)
    settings = settings_or_exit(CollatorSettings, "collator", **overrides)
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        sys.stderr.write("batch-gpt collator: OPENAI_API_KEY is not set (the upstream Batch API key)\n")
        return 2
    configure_logging(settings, "collator")
    try:
        ensure_topics(settings)
    except KafkaException as exc:
        sys.stderr.write(f"batch-gpt collator: Kafka at {settings.kafka_bootstrap_servers} is not usable: {exc}\n")
        return 1
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    registry = CollectorRegistry()
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, registry=registry)
    asyncio.run(_run(settings, registry))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
