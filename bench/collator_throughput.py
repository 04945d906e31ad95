"""Collator throughput: produce N requests, run one collator worker, print lines/second.

Usage::

    python bench/collator_throughput.py [--requests 20000] [--models 4] [--window-ms 1000]

Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, otherwise starts the local broker from Maven jars;
the simulator runs as a child process; the database is a fresh SQLite file (or
``BATCHGPT_DATABASE_URL``). Measures from the first window the worker receives to the moment the
last batch is recorded as submitted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka import Producer
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batchgpt.broker import start_broker, stop_broker  # noqa: E402
from batchgpt.kafka import ensure_topics  # noqa: E402
from batchgpt.simulator.testing import free_port, start_simulator_process  # noqa: E402
from batchgpt.store.engine import make_engine, migrate  # noqa: E402
from batchgpt.store.tables import batch_members, batches  # noqa: E402
from collator.app import create_app  # noqa: E402
from collator.settings import CollatorSettings  # noqa: E402
from schemas.codec import encode  # noqa: E402
from schemas.messages import RequestMessage  # noqa: E402

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini")


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """The broker address: ``KAFKA_BOOTSTRAP_SERVERS``, or a local broker started for the run."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    home = Path(".kafka").resolve()
    port = free_port()
    handle = start_broker(home, port=port, timeout_s=120)
    try:
        yield handle.bootstrap_servers
    finally:
        stop_broker(home, port)


def produce(bootstrap: str, topic: str, count: int, models: int) -> float:
    """Produce ``count`` chat requests; the seconds it took."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "log_level": 3, "enable.idempotence": True}
    )
    started = time.perf_counter()
    for i in range(count):
        message = RequestMessage(
            request_id=f"req_{uuid.uuid4().hex}",
            body={
                "model": MODELS[i % models],
                "messages": [{"role": "user", "content": f"Question number {i}?"}],
                "temperature": 0,
            },
        )
        while True:
            try:
                producer.produce(topic, value=encode(message), key=message.request_id)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    with broker() as bootstrap, tempfile.TemporaryDirectory() as tmp:
        sim = start_simulator_process(
            log_level="warning", validating_seconds=0.05, in_progress_seconds=0.5, finalizing_seconds=0.05
        )
        try:
            settings = CollatorSettings(
                kafka_bootstrap_servers=bootstrap,
                topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
                topic_partitions=args.partitions,
                database_url=os.environ.get("BATCHGPT_DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3"),
                openai_api_key="sk-bench",
                openai_base_url=sim.base_url,
                window_ms=args.window_ms,
                log_level="WARNING",
            )
            ensure_topics(settings)
            engine = make_engine(settings.database_url)
            migrate(engine)
            produce_s = produce(bootstrap, settings.topics.requests, args.requests, args.models)
            print(f"produced {args.requests} requests in {produce_s:.2f}s")
            collator = create_app(settings, engine=engine)
            first_window: list[float] = []
            process_window = collator.processor.process_window

            async def timed(records):  # type: ignore[no-untyped-def]
                if not first_window:
                    first_window.append(time.perf_counter())
                await process_window(records)

            collator.processor.process_window = timed  # type: ignore[method-assign]

            def progress() -> tuple[int, int, int]:
                with engine.connect() as conn:
                    members = conn.execute(select(func.count()).select_from(batch_members)).scalar_one()
                    open_ = conn.execute(
                        select(func.count()).select_from(batches).where(batches.c.upstream_batch_id.is_(None))
                    ).scalar_one()
                    total = conn.execute(select(func.count()).select_from(batches)).scalar_one()
                return members, open_, total

            async with collator.running():
                deadline = time.monotonic() + args.timeout
                while True:
                    members, open_, _ = await asyncio.to_thread(progress)
                    if members >= args.requests and open_ == 0:
                        break
                    if time.monotonic() > deadline:
                        raise SystemExit(f"timed out: {members} of {args.requests} reserved, {open_} not submitted")
                    await asyncio.sleep(0.05)
                finished = time.perf_counter()
            elapsed = finished - first_window[0]
            _, _, total = progress()
            metrics = collator.metrics
            stats = sim.stats(include_custom_ids=False)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"collator: {args.requests} lines in {elapsed:.2f}s = {args.requests / elapsed:,.0f} lines/s")
            print(
                f"windows: {int(metrics.windows._value.get())}, batches: {total} "
                f"(upstream: {stats['batches']}, duplicate custom_ids: {len(stats['duplicate_custom_ids'])}), "
                f"bytes: {int(metrics.bytes._value.get()):,}"
            )
            print(f"peak RSS (this process: collator + producer): {peak_rss_mb:.0f} MB")
            engine.dispose()
        finally:
            sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--models", type=int, default=4, choices=range(1, len(MODELS) + 1))
    parser.add_argument("--window-ms", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
