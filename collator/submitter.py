"""The upstream edge: find-or-create one batch on the OpenAI Files + Batches API, exactly once.

Every attempt but a batch's very first looks upstream for a batch whose metadata names our batch
id (a previous attempt, or a crashed worker, may have created it), and only then uploads
(``<batch id>.jsonl``) and creates. The very first attempt, made by the worker that reserved the
batch (the reservation records it, with the lease), skips the look: every attempt is recorded
before its first upstream write, so nothing can be upstream before it. The SDK's own retries are
off (it sends no idempotency key); 429, 5xx, timeouts and connection errors are retried here with
backoff, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai
from openai import AsyncOpenAI

from collator.backoff import parse_retry_after, retry_delay
from collator.errors import UpstreamError, UpstreamRejected, UpstreamTransient
from collator.metrics import CollatorMetrics

__all__ = ["METADATA_KEY", "SubmitOutcome", "Submitter", "UpstreamBatch"]

logger = logging.getLogger(__name__)

METADATA_KEY = "batchgpt_batch_id"
_PAGE_SIZE = 100
_LOOKUP_MARGIN_S = 300.0


@dataclass(frozen=True)
class UpstreamBatch:
    """What we keep of an upstream Batch object."""

    id: str
    status: str
    input_file_id: str | None
    created_at: float


@dataclass(frozen=True)
class SubmitOutcome:
    """The end of a submission: the upstream batch, or the error that made us give up."""

    batch: UpstreamBatch | None
    error: UpstreamError | None
    attempts: int
    adopted: bool = False


def _translate(exc: Exception, operation: str) -> UpstreamError:
    """Map an SDK exception onto our error tree."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else None
        retry_after = parse_retry_after(dict(exc.response.headers), time.time())
        message = f"{operation}: HTTP {exc.status_code}"
        if exc.status_code == 429 or exc.status_code >= 500 or exc.status_code == 408:
            return UpstreamTransient(message, status=exc.status_code, retry_after_s=retry_after, body=body)
        return UpstreamRejected(f"{message}: {exc.message}", status=exc.status_code, body=body)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamTransient(f"{operation}: timed out")
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamTransient(f"{operation}: connection error")
    raise exc


def _batch(obj: Any) -> UpstreamBatch:
    return UpstreamBatch(
        id=obj.id, status=str(obj.status), input_file_id=obj.input_file_id, created_at=float(obj.created_at)
    )


class Submitter:
    """Find-or-create upstream batches with our own retries."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        metrics: CollatorMetrics,
        max_attempts: int,
        backoff_s: float,
        backoff_max_s: float,
        lookup_pages: int,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._lookup_pages = lookup_pages

    async def _call(self, operation: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            error = _translate(exc, operation)
            kind = "transient" if isinstance(error, UpstreamTransient) else "rejected"
            self._metrics.upstream_errors.labels(operation=operation, kind=kind, status=str(error.status or "")).inc()
            raise error from exc

    async def find(self, batch_id: str, *, not_before: float) -> UpstreamBatch | None:
        """The upstream batch whose metadata names ``batch_id``, searching newest first.

        Stops at batches created before ``not_before`` minus a margin, or after the page limit.
        """
        after: str | None = None
        for _ in range(self._lookup_pages):
            kwargs: dict[str, Any] = {"limit": _PAGE_SIZE}
            if after is not None:
                kwargs["after"] = after
            page = await self._call("batches.list", functools.partial(self._client.batches.list, **kwargs))
            items = list(page.data)
            for item in items:
                if (item.metadata or {}).get(METADATA_KEY) == batch_id:
                    return _batch(item)
            if not items or not page.has_more or float(items[-1].created_at) < not_before - _LOOKUP_MARGIN_S:
                return None
            after = items[-1].id
        return None

    async def upload(self, batch_id: str, content: bytes) -> str:
        """Upload the JSONL as ``<batch id>.jsonl``; the file id."""
        created = await self._call(
            "files.create",
            lambda: self._client.files.create(
                file=(f"{batch_id}.jsonl", content, "application/jsonl"), purpose="batch"
            ),
        )
        return str(created.id)

    async def create(self, batch_id: str, *, input_file_id: str, endpoint: str) -> UpstreamBatch:
        """Create the batch with metadata naming our batch id."""
        created = await self._call(
            "batches.create",
            lambda: self._client.batches.create(
                input_file_id=input_file_id,
                endpoint=endpoint,  # type: ignore[arg-type]
                completion_window="24h",
                metadata={METADATA_KEY: batch_id},
            ),
        )
        return _batch(created)

    async def submit(
        self,
        batch_id: str,
        *,
        content: bytes,
        endpoint: str,
        not_before: float,
        attempts_so_far: int = 0,
        keep_lease: Callable[[int], Awaitable[bool]],
        checkpoint: Callable[[str], None],
    ) -> SubmitOutcome:
        """Find or create the batch, retrying transient faults up to the attempt limit.

        Attempt 1 (``attempts_so_far`` 0: the reserving worker's first) creates without looking first.

        ``keep_lease(attempt)`` is asked before every upstream write; it records the attempt number and
        keeps our lease (False: another worker took the batch over, stop). ``checkpoint(point)`` is the
        crash-test hook called after the upload and after the create.
        """
        file_id: str | None = None
        attempt = attempts_so_far
        last: UpstreamError | None = None
        while attempt < self._max_attempts:
            attempt += 1
            if not await keep_lease(attempt):
                return SubmitOutcome(batch=None, error=None, attempts=attempt)
            try:
                found = await self.find(batch_id, not_before=not_before) if attempt > 1 else None
                if found is not None:
                    return SubmitOutcome(batch=found, error=None, attempts=attempt, adopted=True)
                if file_id is None:
                    if not await keep_lease(attempt):
                        return SubmitOutcome(batch=None, error=None, attempts=attempt)
                    file_id = await self.upload(batch_id, content)
                    checkpoint("after_upload")
                if not await keep_lease(attempt):
                    return SubmitOutcome(batch=None, error=None, attempts=attempt)
                created = await self.create(batch_id, input_file_id=file_id, endpoint=endpoint)
                checkpoint("after_create")
                return SubmitOutcome(batch=created, error=None, attempts=attempt)
            except UpstreamRejected as exc:
                logger.warning("upstream rejected the batch", extra={"batch_id": batch_id, "error": str(exc)})
                return SubmitOutcome(batch=None, error=exc, attempts=attempt)
            except UpstreamTransient as exc:
                last = exc
                if attempt >= self._max_attempts:
                    break
                delay = retry_delay(
                    attempt, base_s=self._backoff_s, cap_s=self._backoff_max_s, retry_after_s=exc.retry_after_s
                )
                logger.warning(
                    "upstream fault, retrying",
                    extra={"batch_id": batch_id, "error": str(exc), "attempt": attempt, "delay_s": round(delay, 3)},
                )
                await asyncio.sleep(delay)
        return await self._last_look(batch_id, not_before=not_before, attempts=attempt, error=last)

    async def _last_look(
        self, batch_id: str, *, not_before: float, attempts: int, error: UpstreamError | None
    ) -> SubmitOutcome:
        """Before giving up, one more look: a create that timed out may have succeeded."""
        try:
            found = await self.find(batch_id, not_before=not_before)
        except UpstreamError:
            found = None
        if found is not None:
            return SubmitOutcome(batch=found, error=None, attempts=attempts, adopted=True)
        return SubmitOutcome(
            batch=None, error=error or UpstreamTransient("submission attempts exhausted"), attempts=attempts
        )
