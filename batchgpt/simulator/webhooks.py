"""The simulator's webhooks: like OpenAI, a signed ``batch.completed`` / ``batch.failed`` / ``batch.expired`` /
``batch.cancelled`` event for each batch that ends, POSTed to ``webhook_url`` with ``webhook_secret`` (Standard
Webhooks), retried with backoff while the receiver fails.

A batch's state is a function of the clock (:mod:`batchgpt.simulator.lifecycle`), so a background task looks at
the unfinished batches every ``WATCH_INTERVAL_S`` and sends one event for each that reached a terminal status
(every delivery of it carries the same ``webhook-id``). Batches already ended when the simulator started (loaded
from its ``state_dir``) are not announced again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from batchgpt.simulator.batch_views import refresh
from batchgpt.simulator.lifecycle import Snapshot
from batchgpt.simulator.simulation import Simulation
from batchgpt.upstream.backoff import Backoff
from batchgpt.webhooks.events import batch_event_type, event_body, new_event_id
from batchgpt.webhooks.posting import Delivery, deliver
from batchgpt.webhooks.signing import Signer

__all__ = ["WATCH_INTERVAL_S", "WebhookSender"]

logger = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.1
BACKOFF_CAP_S = 30.0


def _ended_at(snapshot: Snapshot) -> float | None:
    for value in (snapshot.completed_at, snapshot.failed_at, snapshot.expired_at, snapshot.cancelled_at):
        if value is not None:
            return value
    return None


class WebhookSender:
    """Watches the simulation's batches and announces each one's end (``run`` until cancelled)."""

    def __init__(self, sim: Simulation, *, url: str, secret: str) -> None:
        settings = sim.settings
        self._sim = sim
        self._delivery = Delivery(
            url=url,
            signer=Signer(secret),
            max_attempts=settings.webhook_max_attempts,
            backoff=Backoff(settings.webhook_backoff_seconds, BACKOFF_CAP_S),
        )
        self._announced = {batch_id for batch_id, r in sim.store.batches.items() if r.final_status is not None}
        self._sending: set[asyncio.Task[bool]] = set()

    async def run(self) -> None:
        """Announce ended batches until cancelled (deliveries under way are cancelled with it)."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            try:
                while True:
                    self._announce_ended(client)
                    await asyncio.sleep(WATCH_INTERVAL_S)
            finally:
                for task in self._sending:
                    task.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*self._sending, return_exceptions=True)

    def _announce_ended(self, client: httpx.AsyncClient) -> None:
        sim = self._sim
        for batch_id, record in list(sim.store.batches.items()):
            if batch_id in self._announced or record.api != "openai":  # Message Batches send no webhooks
                continue
            snapshot = refresh(sim, record)
            event_type = batch_event_type(snapshot.status)
            if event_type is None:
                continue
            self._announced.add(batch_id)
            event_id = new_event_id()
            body = event_body(
                event_id=event_id,
                event_type=event_type,
                created_at=_ended_at(snapshot) or sim.clock.now(),
                data={"id": batch_id},
            )
            task = asyncio.create_task(self._send(client, event_id, body), name=f"sim-webhook-{batch_id}")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, client: httpx.AsyncClient, event_id: str, body: str) -> bool:
        delivered = await deliver(client, self._delivery, event_id=event_id, body=body)
        if not delivered:
            logger.warning("webhook not delivered after every attempt", extra={"event_id": event_id})
        return delivered
