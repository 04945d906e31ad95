"""Periodic database work: find results for held calls whose reply this replica never read, purge old results."""

from __future__ import annotations

import asyncio
import logging
import time

from ingress.admission.records import Records
from ingress.replies.correlator import Correlator

__all__ = ["purge_loop", "recheck_loop", "recheck_once"]

logger = logging.getLogger(__name__)


async def recheck_once(records: Records, correlator: Correlator) -> int:
    """Wake every held call whose result is already stored; return how many results were found."""
    ids = correlator.pending_ids()
    if not ids:
        return 0
    found = await records.results_among(ids)
    for result in found:
        correlator.resolve(result)
    return len(found)


async def recheck_loop(records: Records, correlator: Correlator, interval_seconds: float) -> None:
    """Run :func:`recheck_once` every ``interval_seconds`` until cancelled."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await recheck_once(records, correlator)
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the loop
            logger.exception("result recheck failed")


async def purge_loop(records: Records, ttl_seconds: float, interval_seconds: float) -> None:
    """Delete results older than ``ttl_seconds`` now and every ``interval_seconds`` until cancelled."""
    while True:
        try:
            purged = await records.purge(time.time() - ttl_seconds)
            if purged:
                logger.info("expired results purged", extra={"purged": purged})
        except Exception:  # noqa: BLE001
            logger.exception("result purge failed")
        await asyncio.sleep(interval_seconds)
