"""The resolver's OpenAI edge: retrieve and cancel batches, stream result files line by line.

Every SDK error is translated into :class:`~resolver.errors.UpstreamError` (with the server's
``Retry-After``); the client is built with the SDK's retries off, so the worker's own backoff decides.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
from openai import AsyncOpenAI

from resolver.errors import UpstreamConflictError, UpstreamError
from resolver.records import UpstreamBatch

__all__ = ["Upstream", "UpstreamBatch", "retry_after_seconds"]


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date); ``None`` if absent."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed is not None else None


def _translate(exc: Exception, operation: str, resource: str | None = None) -> UpstreamError:
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        code = body.get("code") if isinstance(body.get("code"), str) else None
        kind = UpstreamConflictError if exc.status_code == 409 else UpstreamError
        return kind(
            f"{operation} failed: HTTP {exc.status_code}",
            operation=operation,
            status=exc.status_code,
            code=code,
            retry_after_seconds=retry_after_seconds(exc.response.headers),
            resource=resource,
        )
    return UpstreamError(f"{operation} failed: {type(exc).__name__}", operation=operation, resource=resource)


class Upstream:
    """Batch and file calls on one ``AsyncOpenAI`` client."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    async def retrieve(self, upstream_batch_id: str) -> UpstreamBatch:
        """``GET /batches/{id}``."""
        try:
            batch = await self._client.batches.retrieve(upstream_batch_id)
        except (openai.APIError, ValueError) as exc:
            raise _translate(exc, "batches.retrieve", upstream_batch_id) from exc
        return UpstreamBatch.from_sdk(batch)

    async def cancel(self, upstream_batch_id: str) -> UpstreamBatch:
        """``POST /batches/{id}/cancel`` once (no SDK retry: it would retry a 409).

        :raises UpstreamConflictError: the batch already finished.
        """
        try:
            batch = await self._client.with_options(max_retries=0).batches.cancel(upstream_batch_id)
        except (openai.APIError, ValueError) as exc:
            raise _translate(exc, "batches.cancel", upstream_batch_id) from exc
        return UpstreamBatch.from_sdk(batch)

    async def stream_lines(self, file_id: str) -> AsyncIterator[str]:
        """Yield a file's lines as they arrive (the file is never held in memory whole)."""
        try:
            async with self._client.files.with_streaming_response.content(file_id) as response:
                async for line in response.iter_lines():
                    yield line
        except Exception as exc:  # the SDK's errors and the transport's, raised mid-stream
            raise _translate(exc, "files.content", file_id) from exc

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()
