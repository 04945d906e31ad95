"""Readiness: Kafka and the database reachable, the replies consumer assigned, the replica not draining."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from batchgpt.kafka import ping_kafka
from batchgpt.settings import KafkaSettings
from batchgpt.store.engine import ping as ping_db
from ingress.process.drain import Drain
from ingress.replies.listener import ReplyListener

__all__ = ["Readiness"]


class Readiness:
    """The checks of ``/readyz``."""

    def __init__(self, kafka: KafkaSettings, engine: Engine, listener: ReplyListener, drain: Drain) -> None:
        self._kafka = kafka
        self._engine = engine
        self._listener = listener
        self._drain = drain

    async def check(self) -> dict[str, str]:
        """Each check is ``ok`` or what is wrong (``shutdown: draining`` while draining)."""
        checks: dict[str, str] = {}
        try:
            await asyncio.to_thread(ping_kafka, self._kafka, 2.0)
            checks["kafka"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["kafka"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.to_thread(ping_db, self._engine)
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["replies"] = "ok" if self._listener.assigned else "not assigned"
        if self._drain.draining:
            checks["shutdown"] = "draining"
        return checks
