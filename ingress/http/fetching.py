"""The one GET-by-id handler of the endpoint table: the stored result, 202 while pending (or hold), 404."""

from __future__ import annotations

from ingress.admission.records import Records
from ingress.admission.submission import Ticket
from ingress.errors import NotFound
from ingress.http.answers import Answer, Held
from ingress.http.auth import KeyRing
from ingress.http.preferences import wait_preference
from ingress.http.request_reading import Scope, request_headers
from ingress.replies.holder import Holder
from schemas.status import Endpoint

__all__ = ["FetchHandler"]


class FetchHandler:
    """``GET {endpoint}/{request_id}``: the caller's own requests only (any endpoint's path finds it)."""

    __slots__ = ("_holder", "_keys", "_max_wait_seconds", "_records")

    def __init__(self, keys: KeyRing, records: Records, holder: Holder, *, max_wait_seconds: float) -> None:
        self._keys = keys
        self._records = records
        self._holder = holder
        self._max_wait_seconds = max_wait_seconds

    async def __call__(self, request_id: str, scope: Scope) -> Answer:
        """200 with the result, the error when it failed, 202 while pending (``Prefer: wait=N`` holds), 404."""
        headers = request_headers(scope)
        tenant = self._keys.authenticate(headers.get("authorization"))
        records = self._records
        row = await records.request(request_id, tenant)
        stored = await records.result(request_id, tenant)
        if stored is not None:
            return stored
        if row is None:
            raise NotFound(f"No request found with id '{request_id}'.", param="id", code="request_not_found")
        preference = wait_preference(headers.get("prefer"), self._max_wait_seconds, 0.0)
        holder = self._holder
        if preference.wait_seconds > 0 and not holder.draining:
            future = holder.register(request_id)
            stored = await records.result(request_id, tenant)
            if stored is not None:
                holder.discard(request_id, future)
                return stored
            ticket = Ticket(request_id, future, row.state, row.received_at, row.batch_id)
            return Held(ticket, preference.wait_seconds, tenant, Endpoint(row.endpoint), None)
        return await records.pending(request_id, tenant, row.endpoint)
