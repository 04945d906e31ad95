"""What the store raises on purpose.

::

    StoreError
    ├── ReservationConflict   a batch id or a member (request, attempt) was already taken: nothing was written
    └── LeaseLost             the lease on a batch is no longer the caller's
"""

from __future__ import annotations

__all__ = ["LeaseLost", "ReservationConflict", "StoreError"]


class StoreError(Exception):
    """Root of the store's errors."""


class ReservationConflict(StoreError):
    """A unique constraint fired while reserving a batch: someone else holds some of its members."""


class LeaseLost(StoreError):
    """The caller's lease on a batch expired and another worker may now own it."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(f"lease on batch {batch_id} was lost")
        self.batch_id = batch_id
