"""What a request comes to: a finished result (completion or error) or a pending state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from batchgpt.store.records import StoredResult
from schemas.messages import ReplyMessage

__all__ = ["Finished", "Pending"]


@dataclass(frozen=True, slots=True)
class Finished:
    """A terminal result: the HTTP status the caller gets and the body (completion or error envelope).

    ``upstream_request_id`` is the provider's request id of the batch line that produced it, when there is one.
    """

    request_id: str
    status_code: int
    body: dict[str, Any]
    upstream_request_id: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @classmethod
    def from_reply(cls, reply: ReplyMessage) -> Finished:
        """The result a reply on the replies topic carries."""
        return cls(reply.request_id, reply.status_code, dict(reply.body), reply.upstream_request_id)

    @classmethod
    def from_stored(cls, stored: StoredResult) -> Finished:
        """The result stored in a ``results`` row."""
        body = json.loads(stored.body)
        body = body if isinstance(body, dict) else {}
        return cls(stored.request_id, stored.status_code, body, stored.upstream_request_id)

    @classmethod
    def maybe_stored(cls, stored: StoredResult | None) -> Finished | None:
        """:meth:`from_stored`, passing ``None`` through."""
        return cls.from_stored(stored) if stored is not None else None


@dataclass(frozen=True, slots=True)
class Pending:
    """A request still under way: its id, state (queued, submitted, in_progress) and when it was accepted."""

    request_id: str
    state: str
    created: int
    endpoint: str
    batch_id: str | None = None
