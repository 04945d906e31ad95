"""What admission is given and what it hands back: one validated POST, and the request it came to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingress.replies.correlator import Waiter
from schemas.status import Endpoint

__all__ = ["Submission", "Ticket"]


@dataclass(frozen=True, slots=True)
class Submission:
    """One POST, authenticated and validated.

    ``use_cache``: a finished successful identical request may answer it (:mod:`~ingress.admission.cache_policy`);
    ``sdk_retry``: an SDK's retry of an earlier attempt (``x-stainless-retry-count`` ≥ 1), which re-attaches to
    the identical request it retries; ``deadline_seconds``: its ``Batchgpt-Deadline`` while a deadline fallback is on;
    ``notify``: the caller asked for an asynchronous answer (``Prefer: respond-async`` or ``wait=N``), so its end
    is announced by webhook when webhooks out are on.
    """

    tenant: str
    endpoint: Endpoint
    body: dict[str, Any]
    idempotency_key: str | None
    use_cache: bool
    sdk_retry: bool = False
    deadline_seconds: float | None = None
    notify: bool = False


@dataclass(slots=True)
class Ticket:
    """A request under way and the registered future of this call (hold it with ``Holder.hold``)."""

    request_id: str
    future: Waiter
    state: str
    created: float
    batch_id: str | None = None
