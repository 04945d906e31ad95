"""Readiness: Kafka and the database reachable, the replies consumer assigned, the replica not draining."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import Engine

from batchgpt.kafka import ping_kafka
from batchgpt.settings import KafkaSettings
from batchgpt.store.engine import ping as ping_db
from ingress.process.drain import Drain
from ingress.replies.listener import ReplyListener

__all__ = ["Readiness"]

_PROBE_SECONDS = 2.0
"""How long a dependency may take to answer its probe before it counts as unreachable."""


class Readiness:
    """The checks of ``/readyz``."""

    def __init__(self, kafka: KafkaSettings, engine: Engine, listener: ReplyListener, drain: Drain) -> None:
        self._kafka = kafka
        self._engine = engine
        self._listener = listener
        self._drain = drain

    async def check(self) -> dict[str, str]:
        """Each check is ``ok`` or what is wrong (``unreachable: <error>`` for a dependency that is down,
        ``shutdown: draining`` while draining)."""
        kafka, database = await asyncio.gather(
            _probe(lambda: ping_kafka(self._kafka, _PROBE_SECONDS)), _probe(lambda: ping_db(self._engine))
        )
        checks = {"kafka": kafka, "database": database}
        checks["replies"] = "ok" if self._listener.assigned else "not assigned"
        if self._drain.draining:
            checks["shutdown"] = "draining"
        return checks


async def _probe(ping: Callable[[], None]) -> str:
    """``ok`` when ``ping`` returns within the probe time, else ``unreachable: <error type>``."""
    try:
        async with asyncio.timeout(_PROBE_SECONDS + 0.5):
            await asyncio.to_thread(ping)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"unreachable: {type(exc).__name__}"
    return "ok"
