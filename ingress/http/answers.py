"""What the POST and GET handlers return: a typed answer, rendered (and for a held call awaited) by the HTTP layer.

* :class:`~ingress.replies.outcomes.Finished`: the stored result, answered at once;
* :class:`~ingress.replies.outcomes.Pending`: 202 with the request's state;
* :class:`Held`: hold the call on its ticket, then the result, or when the wait ends a 202 (the caller
  asked for asynchronous answers) or a retryable ``result_pending`` error (it did not);
* :class:`HeldStream`: server-sent events while held, then the replayed completion;
* :class:`Replay`: a stored completion replayed as server-sent events.

A held call's handler has returned by the time it waits: only the answer (no body, no routing
state) stays alive for the wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingress.admission.submission import Ticket
from ingress.replies.outcomes import Finished, Pending
from schemas.status import Endpoint

__all__ = ["Answer", "Held", "HeldStream", "Replay"]


@dataclass(frozen=True, slots=True)
class Held:
    """Hold the call until its request's result (or ``wait_seconds``), then answer it, or say 202 / retry."""

    ticket: Ticket
    wait_seconds: float
    tenant: str
    endpoint: Endpoint
    started: float | None  # a POST's arrival (monotonic), for the latency metric; None: a GET, not observed
    asked_async: bool = True  # a 202 may end the wait (Prefer: respond-async / wait=N, or a GET by id)


@dataclass(frozen=True, slots=True)
class HeldStream:
    """Stream keep-alive comments while held, then the completion's chunks (or an error event)."""

    ticket: Ticket
    wait_seconds: float
    with_usage: bool


@dataclass(frozen=True, slots=True)
class Replay:
    """Stream a stored completion's chunks."""

    result: Finished
    with_usage: bool


Answer = Finished | Pending | Held | HeldStream | Replay
