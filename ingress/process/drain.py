"""Draining: the replica stops accepting and answers every held call at once (202 with its id)."""

from __future__ import annotations

import logging

from ingress.replies.correlator import Correlator

__all__ = ["Drain"]

logger = logging.getLogger(__name__)


class Drain:
    """The replica's shutdown switch; ``draining`` is read by admission, waiting and readiness."""

    __slots__ = ("_correlator", "draining")

    def __init__(self, correlator: Correlator) -> None:
        self._correlator = correlator
        self.draining = False

    def begin_drain(self) -> int:
        """Stop accepting and wake every held call (with no result); return how many were held."""
        self.draining = True
        released = self._correlator.release_all()
        logger.info("draining: held calls released", extra={"released": released})
        return released
