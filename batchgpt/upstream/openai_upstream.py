"""The OpenAI Files + Batches API behind :class:`~batchgpt.upstream.provider.Upstream`.

A batch's input is uploaded as ``<batch id>.jsonl`` (``purpose=batch``, with ``expires_after``) and the batch
is created (with ``output_expires_after``) with metadata ``{"batchgpt_batch_id": <batch id>}``, which
:meth:`OpenAIUpstream.find` looks for in ``GET /batches`` (newest first). The SDK's own retries are off on
every call, whatever client is given: it sends no idempotency key, so its retry of a create could duplicate a
batch.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx
from openai import AsyncOpenAI, Omit, omit
from openai.types.batch_create_params import OutputExpiresAfter
from openai.types.file_create_params import ExpiresAfter

from batchgpt.upstream.bodies import synchronous_answer, upstream_body
from batchgpt.upstream.errors import UpstreamError, UpstreamRejected
from batchgpt.upstream.openai_errors import TRANSLATED, translate
from batchgpt.upstream.records import StagedInput, UpstreamBatch, UpstreamModel, UpstreamResponse
from schemas import BatchStatus

__all__ = ["METADATA_KEY", "OpenAIUpstream", "upstream_batch"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


METADATA_KEY = "batchgpt_batch_id"
"""The batch metadata key that names our batch id."""

_PAGE_SIZE = 100
_LOOKUP_MARGIN_S = 300.0
"""How much older than ``not_before`` a listed batch may be before the search stops (clock skew)."""


def _status(raw: str) -> BatchStatus:
    try:
        status = BatchStatus(raw)
    except ValueError:
        status = BatchStatus.PENDING
    if status is BatchStatus.PENDING:  # ours, never OpenAI's: an unknown status is still being worked on
        logger.warning("unknown upstream batch status; taken as validating", extra={"status": raw})
        return BatchStatus.VALIDATING
    return status


def upstream_batch(batch: Any) -> UpstreamBatch:
    """Our record of an ``openai.types.Batch`` (missing optional fields become ``None``/0)."""
    counts = batch.request_counts
    usage = getattr(batch, "usage", None)
    errors = None
    if batch.errors is not None and batch.errors.data is not None:
        errors = [e.model_dump() for e in batch.errors.data]
    ends = (batch.completed_at, batch.failed_at, batch.expired_at, batch.cancelled_at)
    return UpstreamBatch(
        id=batch.id,
        status=_status(str(batch.status)),
        created_at=float(batch.created_at),
        input_file_id=batch.input_file_id or None,
        output_file_id=batch.output_file_id or None,
        error_file_id=batch.error_file_id or None,
        errors=errors,
        total=counts.total if counts else 0,
        completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        input_tokens=usage.input_tokens if usage is not None else None,
        output_tokens=usage.output_tokens if usage is not None else None,
        terminal_at=next((float(t) for t in ends if t is not None), None),
    )


class OpenAIUpstream:
    """:class:`~batchgpt.upstream.provider.Upstream` on one ``AsyncOpenAI`` client.

    ``lookup_pages`` bounds :meth:`find`: at most that many pages of 100 batches are searched.
    ``input_expires_s`` / ``output_expires_s`` (3600..2592000, or None for the provider's default) become the
    upload's ``expires_after`` and the batch's ``output_expires_after``, so the provider deletes the files.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        lookup_pages: int = 10,
        input_expires_s: int | None = None,
        output_expires_s: int | None = None,
    ) -> None:
        self._client = client.with_options(max_retries=0)
        self._lookup_pages = lookup_pages
        self._input_expiry: ExpiresAfter | Omit = (
            {"anchor": "created_at", "seconds": input_expires_s} if input_expires_s is not None else omit
        )
        self._output_expiry: OutputExpiresAfter | Omit = (
            {"anchor": "created_at", "seconds": output_expires_s} if output_expires_s is not None else omit
        )

    _translate = staticmethod(translate)
    """Maps the SDK's exceptions into the error tree (a provider with other error bodies overrides it)."""

    async def _call(self, operation: str, call: Awaitable[T], resource: str | None = None) -> T:
        try:
            return await call
        except TRANSLATED as exc:
            raise self._translate(exc, operation, resource) from exc

    async def stage(self, batch_id: str, lines: bytes) -> StagedInput:
        """Upload ``lines`` as ``<batch_id>.jsonl`` (``purpose=batch``)."""
        created = await self._call(
            "files.create",
            self._client.files.create(
                file=(f"{batch_id}.jsonl", lines, "application/jsonl"),
                purpose="batch",
                expires_after=self._input_expiry,
            ),
        )
        return StagedInput(batch_id=batch_id, input_file_id=str(created.id))

    async def create(self, staged: StagedInput, *, endpoint: str, model: str) -> UpstreamBatch:
        """``POST /batches`` on the uploaded file, with metadata naming our batch id (``model`` is in the lines)."""
        if staged.input_file_id is None:
            raise UpstreamRejected("batches.create: the input was not uploaded", operation="batches.create")
        created = await self._call(
            "batches.create",
            self._client.batches.create(
                input_file_id=staged.input_file_id,
                endpoint=endpoint,  # type: ignore[arg-type]  # the SDK's Literal; ours is checked by the schema
                completion_window="24h",
                metadata={METADATA_KEY: staged.batch_id},
                output_expires_after=self._output_expiry,
            ),
            staged.input_file_id,
        )
        return upstream_batch(created)

    async def find(self, batch_id: str, *, not_before: float) -> UpstreamBatch | None:
        """The batch whose metadata names ``batch_id``, searching ``GET /batches`` newest first.

        Stops at batches created before ``not_before`` minus a margin, or after ``lookup_pages`` pages.
        """
        after: str | None = None
        for _ in range(self._lookup_pages):
            kwargs: dict[str, Any] = {"limit": _PAGE_SIZE}
            if after is not None:
                kwargs["after"] = after
            page = await self._call("batches.list", self._client.batches.list(**kwargs))
            items = list(page.data)
            for item in items:
                if (item.metadata or {}).get(METADATA_KEY) == batch_id:
                    return upstream_batch(item)
            if not items or not page.has_more or float(items[-1].created_at) < not_before - _LOOKUP_MARGIN_S:
                return None
            after = items[-1].id
        return None

    async def retrieve(self, upstream_batch_id: str) -> UpstreamBatch:
        """``GET /batches/{id}``."""
        batch = await self._call(
            "batches.retrieve", self._client.batches.retrieve(upstream_batch_id), upstream_batch_id
        )
        return upstream_batch(batch)

    async def cancel(self, upstream_batch_id: str) -> UpstreamBatch:
        """``POST /batches/{id}/cancel`` once.

        :raises UpstreamConflict: the batch already finished (HTTP 409).
        """
        batch = await self._call("batches.cancel", self._client.batches.cancel(upstream_batch_id), upstream_batch_id)
        return upstream_batch(batch)

    async def result_lines(self, file_id: str) -> AsyncIterator[str]:
        """``GET /files/{id}/content`` line by line, as it arrives (the file is never held in memory whole)."""
        try:
            async with self._client.files.with_streaming_response.content(file_id) as response:
                async for line in response.iter_lines():
                    yield line
        except TRANSLATED as exc:  # the SDK's errors, and the transport's raised mid-stream
            raise self._translate(exc, "files.content", file_id) from exc

    async def delete_file(self, file_id: str) -> None:
        """``DELETE /files/{id}``; a file already gone (404) counts as deleted."""
        try:
            await self._call("files.delete", self._client.files.delete(file_id), file_id)
        except UpstreamError as exc:
            if exc.status != 404:
                raise

    async def models(self) -> list[UpstreamModel]:
        """``GET /models`` (one page: OpenAI does not paginate it)."""
        page = await self._call("models.list", self._client.models.list())
        return [UpstreamModel(id=m.id, created=int(m.created or 0), owned_by=str(m.owned_by or "")) for m in page.data]

    async def respond(self, endpoint: str, body: dict[str, Any]) -> UpstreamResponse:
        """``POST {endpoint}`` (relative to the base URL, which ends in ``/v1``) with ``body``, not streamed."""
        operation = f"sync {endpoint}"
        path = endpoint.removeprefix("/v1")
        response = await self._call(
            operation, self._client.post(path, body=upstream_body(body), cast_to=httpx.Response)
        )
        return synchronous_answer(operation, response, request_id_header="x-request-id")

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()
