"""The interface both services use to reach an upstream batch provider.

The collator stages and creates batches (checking its lease before each upstream write) and finds the
ones it may already have created; the resolver retrieves and cancels them and reads their result lines;
the ingress lists the provider's models for ``GET /v1/models``; the resolver's deadline fallback makes one
synchronous call (:meth:`Upstream.respond`).
Every method raises only :class:`~batchgpt.upstream.errors.UpstreamError` (its subclasses say whether a
retry can help) and never retries by itself: the caller retries with :func:`~batchgpt.upstream.retrying`
after checking what already exists, because a retried create could otherwise duplicate a batch.

A batch's input is always given as ``lines``: JSONL, one ``{"custom_id", "method", "url", "body"}`` object per
line (batch-gpt's line format, which is OpenAI's input file). A file-based provider uploads it as is; a
provider whose batch takes inline requests reads the lines into its own request shape in :meth:`stage`
(no upload) and sends them with :meth:`create`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from batchgpt.upstream.records import StagedInput, UpstreamBatch, UpstreamModel, UpstreamResponse

__all__ = ["Upstream", "submit"]


class Upstream(Protocol):
    """One upstream batch provider (OpenAI today; Azure OpenAI and Anthropic behind the same methods)."""

    async def stage(self, batch_id: str, lines: bytes) -> StagedInput:
        """Make the input of batch ``batch_id`` ready for :meth:`create` (OpenAI: upload ``<batch_id>.jsonl``)."""
        ...

    async def create(self, staged: StagedInput, *, endpoint: str, model: str) -> UpstreamBatch:
        """Create the batch from staged input, tagged with ``staged.batch_id`` so :meth:`find` can see it."""
        ...

    async def find(self, batch_id: str, *, not_before: float) -> UpstreamBatch | None:
        """The batch created for ``batch_id``, if any, looking no further back than about ``not_before``."""
        ...

    async def retrieve(self, upstream_batch_id: str) -> UpstreamBatch:
        """The batch as it stands now."""
        ...

    async def cancel(self, upstream_batch_id: str) -> UpstreamBatch:
        """Ask for the batch to be cancelled, once.

        :raises UpstreamConflict: the batch already finished.
        """
        ...

    def result_lines(self, file_id: str) -> AsyncIterator[str]:
        """The lines of a result file (``UpstreamBatch.output_file_id``/``error_file_id``), as they arrive."""
        ...

    async def delete_file(self, file_id: str) -> None:
        """Delete an input or result file (a provider without files does nothing)."""
        ...

    async def models(self) -> list[UpstreamModel]:
        """The models the provider serves (OpenAI: ``GET /models``), as it lists them."""
        ...

    async def respond(self, endpoint: str, body: dict[str, Any]) -> UpstreamResponse:
        """One synchronous call, not streamed (``POST {endpoint}``, e.g. ``/v1/chat/completions``): the deadline
        fallback. ``body`` goes as given (``service_tier: "flex"`` in it asks OpenAI for flex processing) but for
        its streaming fields, which are removed.

        :raises UpstreamError: the provider answered an error status (its status, code and error body) or the
            call failed in transport.
        """
        ...

    async def close(self) -> None:
        """Release the HTTP client."""
        ...


async def submit(upstream: Upstream, batch_id: str, lines: bytes, *, endpoint: str, model: str) -> UpstreamBatch:
    """Stage and create in one go, without checks in between (the collator checks its lease between the two)."""
    staged = await upstream.stage(batch_id, lines)
    return await upstream.create(staged, endpoint=endpoint, model=model)
