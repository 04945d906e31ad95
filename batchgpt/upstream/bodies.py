"""What a request body looks like when batch-gpt sends it upstream, and what a synchronous answer must look like
to be taken (pure: no I/O)."""

from __future__ import annotations

from typing import Any, Protocol

from batchgpt.upstream.errors import UpstreamTransient
from batchgpt.upstream.records import UpstreamResponse

__all__ = ["STRIPPED_FIELDS", "synchronous_answer", "upstream_body"]

STRIPPED_FIELDS: frozenset[str] = frozenset({"stream", "stream_options"})
"""Body fields removed before a call goes upstream: a batch cannot stream, and batch-gpt replays a finished
answer as events itself (a synchronous fallback call is made without streaming for the same reason)."""


def upstream_body(body: dict[str, Any]) -> dict[str, Any]:
    """The request body as it goes upstream: unchanged except that streaming fields are removed."""
    return {key: value for key, value in body.items() if key not in STRIPPED_FIELDS}


class _HTTPResponse(Protocol):
    """What both SDKs' HTTP responses offer (httpx's and httpx2's)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Any: ...

    def json(self) -> Any: ...


def synchronous_answer(operation: str, response: _HTTPResponse, *, request_id_header: str) -> UpstreamResponse:
    """A synchronous call's answer, which must be a JSON object; its request id from ``request_id_header``.

    :raises UpstreamTransient: a 2xx that is not a JSON object (a proxy's page): the next call may be answered.
    """
    try:
        answer = response.json()
    except ValueError as exc:
        raise UpstreamTransient(f"{operation}: the answer is not JSON", operation=operation) from exc
    if not isinstance(answer, dict):
        raise UpstreamTransient(f"{operation}: the answer is not a JSON object", operation=operation)
    return UpstreamResponse(response.status_code, answer, response.headers.get(request_id_header))
