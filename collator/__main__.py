"""``batch-gpt collator``: the shared start-up sequence (:mod:`batchgpt.boot`), then the worker until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from prometheus_client import CollectorRegistry

from batchgpt.boot import flag_overrides, run_worker
from collator.app import create_app
from collator.settings import CollatorSettings

__all__ = ["main"]

logger = logging.getLogger("collator")

_FLAGS = {"window_ms": "window_ms", "metrics_port": "metrics_port", "log_level": "log_level"}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batch-gpt collator", description="Windows requests into upstream batches.")
    parser.add_argument("--window-ms", type=int, help="COLLATE_BATCHES_FOR_DURATION_IN_MS")
    parser.add_argument("--metrics-port", type=int, help="BATCHGPT_METRICS_PORT")
    parser.add_argument("--log-level", help="BATCHGPT_LOG_LEVEL")
    return parser.parse_args(argv)


async def _run(settings: CollatorSettings, registry: CollectorRegistry, stop: asyncio.Event) -> None:
    collator = create_app(settings, registry=registry)
    async with collator.running():
        logger.info(
            "collator running",
            extra={
                "group": collator.group_id,
                "owner": collator.owner,
                "instance_id": collator.membership.instance_id if collator.membership else None,
                "window_ms": settings.window_ms,
            },
        )
        await stop.wait()
        logger.info("collator stopping")
    collator.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the collator; 0 after a clean shutdown, 2 on a bad setting, 1 when Kafka is unusable."""
    overrides = flag_overrides(_parse(sys.argv[1:] if argv is None else argv), _FLAGS)
    return run_worker(CollatorSettings, "collator", overrides, _run)


if __name__ == "__main__":
    raise SystemExit(main())
