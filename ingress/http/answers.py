"""What the POST and GET handlers return: a typed answer, rendered (and for a held call awaited) by the HTTP layer.

* :class:`~ingress.replies.outcomes.Finished`: the stored result, answered at once;
* :class:`~ingress.replies.outcomes.Pending`: 202 with the request's state;
* :class:`Held`: hold the call on its ticket, then the result (replayed as server-sent events when the
  call asked for a stream and the result is a success), or when the wait ends a 202 (the caller asked for
  asynchronous answers) or a retryable ``result_pending`` error (it did not);
* :class:`Replay`: a stored result replayed as server-sent events.

A held call's handler has returned by the time it waits: only the answer (no body, no routing
state) stays alive for the wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingress.admission.submission import Ticket
from ingress.http.streaming import Replayer
from ingress.replies.outcomes import Finished, Pending
from schemas.status import Endpoint

__all__ = ["Answer", "Held", "Replay"]


@dataclass(frozen=True, slots=True)
class Held:
    """Hold the call until its request's result (or ``wait_seconds``), then answer it, or say 202 / retry."""

    ticket: Ticket
    wait_seconds: float
    tenant: str
    endpoint: Endpoint
    started: float | None  # a POST's arrival (monotonic), for the latency metric; None: a GET, not observed
    stream: Replayer | None = None  # a success is replayed as server-sent events (headers held until then)
    asked_async: bool = True  # a 202 may end the wait (Prefer: respond-async / wait=N, or a GET by id)


@dataclass(frozen=True, slots=True)
class Replay:
    """Stream a stored successful result's events."""

    result: Finished
    replayer: Replayer


Answer = Finished | Pending | Held | Replay
