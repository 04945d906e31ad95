"""``batch-gpt resolver``: the shared start-up sequence (:mod:`batchgpt.boot`), then run until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import sys

from batchgpt.boot import BootFailed, flag_overrides, prepare_storage, run_until_signalled, serve_metrics, start
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``batch-gpt resolver``; returns the exit status."""
    overrides = flag_overrides(_parse(list(sys.argv[1:] if argv is None else argv)), _FLAGS)
    try:
        settings = start(ResolverSettings, "resolver", overrides, upstream_key=lambda s: s.upstream_key)
        prepare_storage(settings, settings.database_url, "resolver")
    except BootFailed as failed:
        return failed.code
    metrics = ResolverMetrics()
    serve_metrics(settings.metrics_port, metrics.registry)
    run_until_signalled(lambda stop: run(settings, stop=stop, metrics=metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
