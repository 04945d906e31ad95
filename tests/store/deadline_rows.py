"""Requests recorded as the ingress records a call with ``Batchgpt-Deadline`` (for the store and resolver tests)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from batchgpt.store.admission import ADMITTED, Admission, admit_group
from schemas import RequestMessage, encode


def admit_with_deadline(engine: Engine, messages: Sequence[RequestMessage], *, deadline_at: float | None) -> None:
    """Record ``messages`` as ``queued`` with their deadline and produced message (no deadline: ``None``)."""
    items = [
        Admission(
            request_id=m.request_id,
            tenant=m.tenant,
            endpoint=m.endpoint.value,
            model=m.model,
            fingerprint=f"fp-{m.request_id}",
            idempotency_key=None,
            received_at=m.received_at,
            since=0.0,
            serve_stored=False,
            may_reuse=False,
            deadline_at=deadline_at,
            fallback_request=encode(m).decode(),
        )
        for m in messages
    ]
    assert admit_group(engine, items) == [ADMITTED] * len(items)
