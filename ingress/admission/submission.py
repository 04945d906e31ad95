"""What admission is given and what it hands back: one validated POST, and the request it came to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingress.replies.correlator import Waiter
from schemas.status import Endpoint

__all__ = ["Submission", "Ticket"]


@dataclass(frozen=True, slots=True)
class Submission:
    """One POST, authenticated and validated."""

    tenant: str
    endpoint: Endpoint
    body: dict[str, Any]
    idempotency_key: str | None
    use_cache: bool


@dataclass(slots=True)
class Ticket:
    """A request under way and the registered future of this call (hold it with ``Holder.hold``)."""

    request_id: str
    future: Waiter
    state: str
    created: float
    batch_id: str | None = None
