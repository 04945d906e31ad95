"""Whether a recorded request may have lost its first produce (pure: no clock, no I/O).

The ingress writes a request's row and then produces it to Kafka; a replica killed between the two leaves a
``queued`` row with no batch that never reached Kafka, and nothing would ever answer a call re-attached to it.
A row still ``queued`` with no batch and no stored result once its first produce's time has passed was either
produced (the collator has not batched it yet: its window is still open, or the batch is being created) or
lost. Producing it again then is safe (the collator drops a copy it already has: the same request id and
attempt) and is the only way its re-sent call can be answered.

Why the first produce's time and not the collator's window: waiting out the window would only spare a copy
the collator drops anyway, and would keep a re-sent caller waiting that much longer. What must not produce a
copy is a stale look: the decision is always taken on the row as the database holds it at that moment, never
on the row read when the caller attached (a request batched meanwhile has its batch id or a later state).
"""

from __future__ import annotations

from schemas.status import RequestState

__all__ = ["LOST_PRODUCE_AFTER_SECONDS", "check_delay", "lost_after", "may_be_lost"]

LOST_PRODUCE_AFTER_SECONDS = 2.0
"""How old a ``queued`` row without a batch must be before it counts as possibly never produced (a produce
normally takes milliseconds; it is abandoned after the producer's timeout when shorter)."""


def lost_after(produce_timeout_seconds: float) -> float:
    """The age after which a first produce is over, acknowledged or failed."""
    return min(produce_timeout_seconds, LOST_PRODUCE_AFTER_SECONDS)


def may_be_lost(
    state: str, batch_id: str | None, *, has_result: bool, age_seconds: float, after_seconds: float
) -> bool:
    """Whether a request (its row as the database holds it now) may never have reached Kafka: produce it again."""
    return state == RequestState.QUEUED.value and batch_id is None and not has_result and age_seconds > after_seconds


def check_delay(state: str, batch_id: str | None, *, age_seconds: float, after_seconds: float) -> float | None:
    """How long to wait before looking at a young unbatched ``queued`` row again; None when there is nothing to
    wait for (already batched, further on, or old enough to judge now)."""
    if state != RequestState.QUEUED.value or batch_id is not None or age_seconds > after_seconds:
        return None
    return after_seconds - age_seconds
