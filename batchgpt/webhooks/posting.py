"""One event, POSTed signed until the receiver takes it (any 2xx) or the attempts run out, with the shared
backoff policy between attempts (:class:`batchgpt.upstream.backoff.Backoff`, a ``Retry-After`` honoured).

Each attempt is signed afresh (a new ``webhook-timestamp``, so a retry late in the schedule is still inside the
receiver's tolerance) with the same ``webhook-id``: a receiver that saw the event already can drop the copy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from batchgpt.upstream.backoff import Backoff
from batchgpt.upstream.retry_after import parse_retry_after
from batchgpt.webhooks.signing import Signer

__all__ = ["Attempted", "Delivery", "deliver"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempted:
    """How one attempt went: the receiver's status (None: no answer) and how long it took."""

    attempt: int
    status_code: int | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where and how to deliver: the URL, the signer, the attempts and the backoff between them."""

    url: str
    signer: Signer
    max_attempts: int
    backoff: Backoff


async def deliver(
    client: httpx.AsyncClient,
    delivery: Delivery,
    *,
    event_id: str,
    body: str,
    on_attempt: Callable[[Attempted], None] = lambda _a: None,
) -> bool:
    """POST ``body`` until a 2xx (True) or ``max_attempts`` failures (False); ``on_attempt`` sees each try."""
    for attempt in range(1, delivery.max_attempts + 1):
        started = time.monotonic()
        retry_after: float | None = None
        status: int | None = None
        try:
            response = await client.post(
                delivery.url, content=body.encode(), headers=delivery.signer.headers(event_id, body, at=time.time())
            )
            status = response.status_code
            retry_after = parse_retry_after(response.headers)
        except httpx.HTTPError as exc:
            logger.info("webhook attempt failed", extra={"event_id": event_id, "attempt": attempt, "error": str(exc)})
        outcome = Attempted(attempt, status, time.monotonic() - started)
        on_attempt(outcome)
        if outcome.ok:
            return True
        if attempt < delivery.max_attempts:
            await asyncio.sleep(delivery.backoff.delay(attempt, retry_after_s=retry_after))
    return False
