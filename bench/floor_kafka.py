"""The floor's Kafka parts, each in a process of its own (so that its CPU time is its own alone).

* a producer: confluent-kafka through batch-gpt's :class:`~batchgpt.kafka.AsyncProducer` and
  :func:`~batchgpt.kafka.producer_config` (acks=all, idempotent, its default linger), sending messages of a
  request message's size and headers at a fixed rate, each with its delivery report;
* three consumers of the same messages, each in a group of its own, reading them as they arrive: a faust agent
  reading raw bytes with ``stream.take_events(max, within=window)`` as ``collator/app.py`` does (the collator's
  default ``max``), aiokafka's ``getmany(max_records=batch)`` and confluent-kafka's ``consume(num_messages=batch)``
  (as the ingress reads replies).

Each part counts the CPU time of its process (``time.process_time``: every thread, librdkafka's and faust's
included) between the first measured message and the last, and reports it as a :class:`PartFigure`; the
producer's also counts the broker's (from ``/proc``), which meanwhile serves the producer and the three consumers.
Warm-up messages (a value starting with ``w``) flow until every consumer has read one, so that the measured
messages (``m``) find every consumer joined and reading.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CONSUMERS", "KafkaRun", "PartFigure", "consume", "produce"]

_MEASURED = ord("m")
_WARM = b"w"
_HEADERS = [("content-type", b"application/json"), ("schema-version", b"1")]
_TICK_S = 0.01  # the producer sends what is due every tick


@dataclass(frozen=True)
class KafkaRun:
    """What the producer sends and the consumers read."""

    bootstrap: str
    topic: str
    messages: int
    rate: int
    """Messages per second the producer sends the measured messages at."""
    batch: int
    """The most messages aiokafka's and confluent-kafka's consumers take at once."""
    window_s: float
    """The faust agent's ``within``: the collator's batch window."""
    message_bytes: int
    broker_pid: int
    deadline: float
    """``time.time()`` after which a part gives up."""


@dataclass(frozen=True)
class PartFigure:
    """One part's CPU time over its measured messages (or requests): every part of the floor reports one."""

    part: str
    messages: int
    """What was counted (messages, or requests for the HTTP and admission parts)."""
    cpu_s: float
    broker_cpu_s: float | None
    """The broker's CPU time meanwhile (the producer's part only: the broker then serves the producer and the
    three consumers, which read at the same time)."""
    seconds: float

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds per message of the part's process."""
        return self.cpu_s / self.messages * 1000 if self.messages else float("nan")

    @property
    def broker_cpu_ms(self) -> float | None:
        """The broker's CPU milliseconds per message meanwhile."""
        if self.broker_cpu_s is None:
            return None
        return self.broker_cpu_s / self.messages * 1000 if self.messages else float("nan")


class _Meter:
    """CPU snapshots at the first measured message and once ``expected`` of them were seen."""

    def __init__(self, part: str, expected: int, broker_pid: int | None = None) -> None:
        self.part = part
        self.expected = expected
        self.broker_pid = broker_pid
        self.seen = 0
        self._start: tuple[float, float | None, float] | None = None
        self._first = 0  # measured messages of the batch that started the meter (read before its snapshot)
        self.figure: PartFigure | None = None

    def _snapshot(self) -> tuple[float, float | None, float]:
        from bench.targets import cpu_seconds

        broker = None if self.broker_pid is None else cpu_seconds(self.broker_pid)
        return time.process_time(), broker, time.monotonic()

    def begin(self) -> None:
        """Snapshot now: the measured messages start."""
        self._start = self._snapshot()

    def finish(self, messages: int) -> PartFigure:
        """Snapshot now: ``messages`` measured messages were handled since :meth:`begin`."""
        assert self._start is not None
        cpu, broker, clock = self._snapshot()
        start_cpu, start_broker, start_clock = self._start
        broker_cpu = None if broker is None or start_broker is None else broker - start_broker
        self.figure = PartFigure(self.part, messages, cpu - start_cpu, broker_cpu, clock - start_clock)
        return self.figure

    def saw(self, measured: int) -> bool:
        """Count ``measured`` messages just read; True once all were. The first batch starts the meter and is
        not counted (it was read before the snapshot)."""
        if measured and self.figure is None:
            if self._start is None:
                self.begin()
                self._first = measured
            self.seen += measured
            if self.seen >= self.expected:
                self.finish(self.seen - self._first)
        return self.figure is not None


def _measured(values: Iterable[bytes | None]) -> int:
    return sum(1 for value in values if value and value[0] == _MEASURED)


def _check(run: KafkaRun, what: str) -> None:
    if time.time() > run.deadline:
        raise TimeoutError(f"{what}: not done before the deadline")


async def _produce(run: KafkaRun, ready: list[Any]) -> PartFigure:
    from batchgpt.kafka import AsyncProducer, producer_config
    from batchgpt.settings import KafkaSettings, load_settings

    settings = load_settings(KafkaSettings, environ={}, kafka_bootstrap_servers=run.bootstrap)
    producer = AsyncProducer(producer_config(settings))
    producer.start()
    body = b"x" * (run.message_bytes - 1)
    try:
        while not all(event.is_set() for event in ready):  # warm-up until every consumer reads
            _check(run, "producer warm-up")
            await producer.produce(run.topic, _WARM + body, key=f"warm-{uuid.uuid4().hex}", headers=_HEADERS)
            await asyncio.sleep(0.1)  # the warm-up's pace; the consumers' readiness is the condition
        meter = _Meter("produce, with its delivery report", run.messages, run.broker_pid)
        meter.begin()
        started = time.monotonic()
        pending: list[asyncio.Future[Any]] = []
        while len(pending) < run.messages:
            due = min(run.messages, int((time.monotonic() - started) * run.rate) + 1)
            for i in range(len(pending), due):
                pending.append(producer.produce_nowait(run.topic, b"m" + body, key=f"req_{i:024d}", headers=_HEADERS))
            await asyncio.sleep(_TICK_S)
        await asyncio.gather(*pending)
        return meter.finish(run.messages)
    finally:
        await asyncio.to_thread(producer.stop)


async def _faust(run: KafkaRun, ready: Any) -> PartFigure:
    import faust
    from faust.contrib.asgi import faust_app_running

    from collator.settings import CollatorSettings

    window_max_requests = CollatorSettings.model_fields["window_max_requests"].default  # the collator's default

    group = f"floor-faust-{uuid.uuid4().hex[:8]}"
    datadir = Path(tempfile.mkdtemp(prefix="floor-faust-"))  # faust makes one even with no tables
    app = faust.App(
        group,
        datadir=datadir,
        broker=[f"kafka://{server}" for server in run.bootstrap.split(",")],
        store="memory://",
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        autodiscover=False,
    )
    topic = app.topic(
        run.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", allow_empty=True
    )
    meter = _Meter("consume: faust agent, take_events", run.messages)
    done = asyncio.Event()

    async def collate(stream: Any) -> None:
        async for events in stream.take_events(window_max_requests, within=run.window_s):
            ready.set()
            if meter.saw(_measured(event.message.value for event in events)):
                done.set()

    app.agent(topic, name=f"{group}.collate", concurrency=1)(collate)
    try:
        async with faust_app_running(app, stop_timeout=30):
            await _until(done, run, meter.part)
    finally:
        shutil.rmtree(datadir, ignore_errors=True)
    assert meter.figure is not None
    return meter.figure


async def _aiokafka(run: KafkaRun, ready: Any) -> PartFigure:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        run.topic,
        bootstrap_servers=run.bootstrap,
        group_id=f"floor-aiokafka-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    meter = _Meter("consume: aiokafka getmany", run.messages)
    await consumer.start()
    try:
        while True:
            _check(run, meter.part)
            batches = await consumer.getmany(timeout_ms=250, max_records=run.batch)
            records = [record for records in batches.values() for record in records]
            if records:
                ready.set()
            if meter.saw(_measured(record.value for record in records)):
                break
    finally:
        await consumer.stop()
    assert meter.figure is not None
    return meter.figure


async def _confluent(run: KafkaRun, ready: Any) -> PartFigure:
    from batchgpt.kafka import AsyncConsumer

    consumer = AsyncConsumer(
        {
            "bootstrap.servers": run.bootstrap,
            "group.id": f"floor-confluent-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "log_level": 3,
        }
    )
    meter = _Meter("consume: confluent-kafka consume", run.messages)
    await consumer.start()
    try:
        await consumer.subscribe([run.topic])
        while True:
            _check(run, meter.part)
            messages = await consumer.consume(run.batch, 0.25)
            if messages:
                ready.set()
            if meter.saw(_measured(message.value() for message in messages if not message.error())):
                break
    finally:
        await consumer.close()
    assert meter.figure is not None
    return meter.figure


async def _until(done: asyncio.Event, run: KafkaRun, what: str) -> None:
    async with asyncio.timeout(max(1.0, run.deadline - time.time())):
        try:
            await done.wait()
        except TimeoutError:
            raise TimeoutError(f"{what}: not done before the deadline") from None


CONSUMERS: dict[str, Callable[[KafkaRun, Any], Any]] = {
    "faust": _faust,
    "aiokafka": _aiokafka,
    "confluent": _confluent,
}
"""The consumers by name, each a coroutine function of the run and its readiness event."""


def produce(run: KafkaRun, ready: list[Any], results: Any) -> None:
    """Entry point of the producer's process: puts its :class:`PartFigure` (or the error's text) on ``results``."""
    _report(results, "produce", lambda: asyncio.run(_produce(run, ready)))


def consume(name: str, run: KafkaRun, ready: Any, results: Any) -> None:
    """Entry point of a consumer's process (``name`` in :data:`CONSUMERS`)."""
    _report(results, name, lambda: asyncio.run(CONSUMERS[name](run, ready)))


def _report(results: Any, name: str, work: Callable[[], PartFigure]) -> None:
    try:
        results.put((name, work()))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which says which part failed
        results.put((name, f"{type(exc).__name__}: {exc}"))
