"""``batch-gpt resolver``: the shared start-up sequence (:mod:`batchgpt.boot`), then run until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import sys

from prometheus_client import CollectorRegistry

from batchgpt.boot import flag_overrides, run_worker
from resolver.app import run
from resolver.metrics import ResolverMetrics
from resolver.settings import ResolverSettings

__all__ = ["main"]

_FLAGS = {
    "metrics_port": "metrics_port",
    "poll_interval": "poll_interval_seconds",
    "concurrency": "max_concurrent_batches",
}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batch-gpt resolver", description="Follow upstream batches and answer them.")
    parser.add_argument("--metrics-port", type=int, help="serve /metrics on this port (BATCHGPT_METRICS_PORT)")
    parser.add_argument("--poll-interval", type=float, help="seconds between polls (BATCHGPT_POLL_INTERVAL_S)")
    parser.add_argument("--concurrency", type=int, help="batches handled at once (BATCHGPT_RESOLVER_CONCURRENCY)")
    return parser.parse_args(argv)


async def _run(settings: ResolverSettings, registry: CollectorRegistry, stop: asyncio.Event) -> None:
    await run(settings, stop=stop, metrics=ResolverMetrics(registry))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``batch-gpt resolver``; returns the exit status."""
    overrides = flag_overrides(_parse(list(sys.argv[1:] if argv is None else argv)), _FLAGS)
    return run_worker(ResolverSettings, "resolver", overrides, _run)


if __name__ == "__main__":
    raise SystemExit(main())
