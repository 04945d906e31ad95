"""Periodic database work: find results for held calls whose reply this replica never read, purge old results."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Engine

from batchgpt.store import results
from ingress.correlator import Correlator
from ingress.outcomes import Finished

__all__ = ["purge_loop", "recheck_loop", "recheck_once"]

logger = logging.getLogger(__name__)


async def recheck_once(engine: Engine, correlator: Correlator) -> int:
    """Wake every held call whose result is already stored; return how many results were found."""
    ids = correlator.pending_ids()
    if not ids:
        return 0
    found = await asyncio.to_thread(results.find_results, engine, ids)
    for result in found:
        correlator.resolve(Finished.from_stored(result))
    return len(found)


async def recheck_loop(engine: Engine, correlator: Correlator, interval_seconds: float) -> None:
    """Run :func:`recheck_once` every ``interval_seconds`` until cancelled."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await recheck_once(engine, correlator)
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the loop
            logger.exception("result recheck failed")


async def purge_loop(engine: Engine, ttl_seconds: float, interval_seconds: float) -> None:
    """Delete results older than ``ttl_seconds`` now and every ``interval_seconds`` until cancelled."""
    while True:
        try:
            purged = await asyncio.to_thread(results.purge_expired, engine, older_than=time.time() - ttl_seconds)
            if purged:
                logger.info("expired results purged", extra={"purged": purged})
        except Exception:  # noqa: BLE001
            logger.exception("result purge failed")
        await asyncio.sleep(interval_seconds)
