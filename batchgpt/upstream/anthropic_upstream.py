"""Anthropic's Message Batches API behind :class:`~batchgpt.upstream.provider.Upstream`.

Nothing is uploaded: :meth:`AnthropicUpstream.stage` reads batch-gpt's JSONL lines into inline requests
(``custom_id`` = request id, ``params`` = the Messages body), :meth:`~AnthropicUpstream.create` posts them to
``/v1/messages/batches``. A ``MessageBatch`` is mapped onto :class:`UpstreamBatch` in OpenAI's vocabulary
(:mod:`~batchgpt.upstream.anthropic_records`); its results JSONL is streamed line by line; there are no files to
delete. Message Batches have no metadata, so a create marks its row first and creates of one size run one at a
time, and :meth:`~AnthropicUpstream.find` recognises a batch by its creation time, its request count, those marks
and, once it ended, its results' custom_ids (:mod:`~batchgpt.upstream.anthropic_recovery`).
As for OpenAI, the SDK's own retries are off: a retried create could duplicate a batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx2
from anthropic import AsyncAnthropic
from anthropic.types.messages import MessageBatch
from sqlalchemy.exc import SQLAlchemyError

from batchgpt.upstream.anthropic_errors import TRANSLATED, translate
from batchgpt.upstream.anthropic_records import MESSAGES_ENDPOINT, inline_requests, upstream_message_batch
from batchgpt.upstream.anthropic_recovery import SubmissionLedger, pair
from batchgpt.upstream.bodies import upstream_body
from batchgpt.upstream.errors import UpstreamConflict, UpstreamError, UpstreamRejected, UpstreamTransient
from batchgpt.upstream.records import StagedInput, UpstreamBatch, UpstreamModel, UpstreamResponse

__all__ = ["AnthropicUpstream"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

_PAGE_SIZE = 100
_LOOKUP_MARGIN_S = 300.0
"""How much older than ``not_before`` a listed batch may be before the search stops (clock skew)."""
_CLAIM_POLL_S = 0.02
"""How often a held create lock looks whether its batch was recorded."""


class AnthropicUpstream:
    """:class:`~batchgpt.upstream.provider.Upstream` on one ``AsyncAnthropic`` client.

    ``ledger`` gives :meth:`create` and :meth:`find` batch-gpt's own records (only the collator creates and finds;
    without a ledger ``find`` is refused). ``lookup_pages`` bounds the search: at most that many pages of 100
    batches. ``claim_wait_s`` bounds how long a create of one size waits for the previous one to be recorded.
    """

    def __init__(
        self,
        client: AsyncAnthropic,
        *,
        ledger: SubmissionLedger | None = None,
        lookup_pages: int = 10,
        claim_wait_s: float = 30.0,
    ) -> None:
        self._client = client.with_options(max_retries=0)
        self._ledger = ledger
        self._lookup_pages = lookup_pages
        self._claim_wait_s = claim_wait_s
        self._size_locks: dict[int, asyncio.Lock] = {}
        self._holds: set[asyncio.Task[None]] = set()

    async def _call(self, operation: str, call: Awaitable[T], resource: str | None = None) -> T:
        try:
            return await call
        except TRANSLATED as exc:
            raise translate(exc, operation, resource) from exc

    async def stage(self, batch_id: str, lines: bytes) -> StagedInput:
        """Check that ``lines`` read as inline requests and keep them (nothing is uploaded)."""
        try:
            inline_requests(lines)
        except ValueError as exc:
            raise UpstreamRejected(f"stage: {exc}", operation="stage", resource=batch_id) from exc
        return StagedInput(batch_id=batch_id, lines=lines)

    async def create(self, staged: StagedInput, *, endpoint: str, model: str) -> UpstreamBatch:
        """``POST /v1/messages/batches`` with the staged lines as inline requests (``model`` is in each one).

        With a ledger the row is marked before the create (the mark is taken back when Anthropic refuses it with
        a 4xx), and creates of the same size run one at a time: the next waits until this batch is recorded or
        ``claim_wait_s`` passed (:mod:`~batchgpt.upstream.anthropic_recovery`).
        """
        if endpoint != MESSAGES_ENDPOINT or staged.lines is None:
            raise UpstreamRejected(
                f"messages.batches.create: a Message Batch runs staged {MESSAGES_ENDPOINT} lines, not {endpoint}",
                operation="messages.batches.create",
            )
        requests = inline_requests(staged.lines)
        lock = self._size_locks.setdefault(len(requests), asyncio.Lock())
        await lock.acquire()
        try:
            created = await self._create(staged.batch_id, requests)
        except BaseException:
            lock.release()
            raise
        self._hold_until_recorded(lock, created.id)
        return created

    async def _create(self, batch_id: str, requests: list[dict[str, Any]]) -> UpstreamBatch:
        ledger = self._ledger
        if ledger is not None:
            await _read(ledger.mark_started(batch_id))
        try:
            created = await self._call(
                "messages.batches.create",
                self._client.messages.batches.create(requests=requests),  # type: ignore[arg-type]  # checked upstream
            )
        except UpstreamError as exc:
            if ledger is not None and exc.status is not None and exc.status < 500:  # refused: nothing was created
                await _read(ledger.unmark_started(batch_id))
            raise
        return upstream_message_batch(created)

    def _hold_until_recorded(self, lock: asyncio.Lock, upstream_batch_id: str) -> None:
        """Release ``lock`` once a row records ``upstream_batch_id`` (or after ``claim_wait_s``)."""
        ledger = self._ledger
        if ledger is None:
            lock.release()
            return

        async def wait_then_release() -> None:
            deadline = time.monotonic() + self._claim_wait_s
            try:
                while time.monotonic() < deadline:
                    if upstream_batch_id in await ledger.claimed([upstream_batch_id]):
                        return
                    await asyncio.sleep(_CLAIM_POLL_S)
            except (SQLAlchemyError, OSError):
                logger.warning("could not see the batch recorded", extra={"upstream_batch_id": upstream_batch_id})
            finally:
                lock.release()

        task = asyncio.create_task(wait_then_release())
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)

    async def retrieve(self, upstream_batch_id: str) -> UpstreamBatch:
        """``GET /v1/messages/batches/{id}``."""
        batch = await self._call(
            "messages.batches.retrieve", self._client.messages.batches.retrieve(upstream_batch_id), upstream_batch_id
        )
        return upstream_message_batch(batch)

    async def cancel(self, upstream_batch_id: str) -> UpstreamBatch:
        """``POST /v1/messages/batches/{id}/cancel`` once.

        :raises UpstreamConflict: the batch already ended (Anthropic refuses the cancel).
        """
        try:
            batch = await self._call(
                "messages.batches.cancel", self._client.messages.batches.cancel(upstream_batch_id), upstream_batch_id
            )
        except UpstreamRejected as exc:
            current = await self.retrieve(upstream_batch_id)
            if current.status.is_terminal:
                raise UpstreamConflict(
                    str(exc),
                    operation=exc.operation,
                    status=exc.status,
                    code=exc.code,
                    body=exc.body,
                    resource=upstream_batch_id,
                ) from exc
            raise
        return upstream_message_batch(batch)

    async def result_lines(self, file_id: str) -> AsyncIterator[str]:
        """``GET /v1/messages/batches/{id}/results`` (``file_id`` is the batch id) line by line, as it arrives."""
        try:
            async with self._client.messages.batches.with_streaming_response.results(file_id) as response:
                async for line in response.iter_lines():
                    if line:
                        yield line
        except TRANSLATED as exc:
            raise translate(exc, "messages.batches.results", file_id) from exc

    async def delete_file(self, file_id: str) -> None:
        """Nothing to delete: Message Batches take their requests inline and keep no files."""

    async def models(self) -> list[UpstreamModel]:
        """``GET /v1/models``, every page."""
        try:
            return [
                UpstreamModel(id=m.id, created=int(m.created_at.timestamp()), owned_by="anthropic")
                async for m in self._client.models.list(limit=_PAGE_SIZE)
            ]
        except TRANSLATED as exc:
            raise translate(exc, "models.list") from exc

    async def _recent(self, since: float) -> list[MessageBatch]:
        """The Message Batches created since ``since``, newest first (at most ``lookup_pages`` pages)."""
        found: list[MessageBatch] = []
        after: str | None = None
        for _ in range(self._lookup_pages):
            call = (
                self._client.messages.batches.list(limit=_PAGE_SIZE, after_id=after)
                if after is not None
                else self._client.messages.batches.list(limit=_PAGE_SIZE)
            )
            page = await self._call("messages.batches.list", call)
            items = list(page.data)
            found.extend(b for b in items if b.created_at.timestamp() >= since)
            if not items or not page.has_more or items[-1].created_at.timestamp() < since:
                break
            after = items[-1].id
        return found

    async def _custom_ids(self, upstream_batch_id: str) -> frozenset[str]:
        return frozenset([json.loads(line)["custom_id"] async for line in self.result_lines(upstream_batch_id)])

    async def find(self, batch_id: str, *, not_before: float) -> UpstreamBatch | None:
        """The Message Batch created for ``batch_id``, if any (the rule: :mod:`~batchgpt.upstream.anthropic_recovery`).

        :raises UpstreamRejected: no ledger was given (only the collator finds).
        """
        ledger = self._ledger
        if ledger is None:
            raise UpstreamRejected("find: the Anthropic upstream needs batch-gpt's records", operation="find")
        since = not_before - _LOOKUP_MARGIN_S
        facts = await _read(ledger.facts(batch_id, since=since))
        if facts is None or facts.create_started_at is None:  # no create ever began for it
            return None
        same = [b for b in await self._recent(since) if upstream_message_batch(b).total == facts.line_count]
        claimed = await _read(ledger.claimed([b.id for b in same]))
        rivals = list(facts.rivals)
        running: list[UpstreamBatch] = []
        for batch in (upstream_message_batch(b) for b in same if b.id not in claimed):
            if not batch.status.is_terminal:
                running.append(batch)
                continue
            custom_ids = await self._custom_ids(batch.id)
            if custom_ids == facts.custom_ids:
                return batch
            for rival in rivals:  # it is another row's: that row is accounted for
                other = await _read(ledger.facts(rival, since=since)) if rival != batch_id else None
                if other is not None and other.custom_ids == custom_ids:
                    rivals.remove(rival)
                    break
        return pair(batch_id, rivals, running)

    async def respond(self, endpoint: str, body: dict[str, Any]) -> UpstreamResponse:
        """``POST /v1/messages`` with ``body`` (its streaming fields removed): one synchronous call at full price
        (the deadline fallback); the answer's ``request-id`` is its request id.

        :raises UpstreamError: Anthropic answered an error status, or the call failed in transport.
        """
        operation = f"sync {endpoint}"
        if endpoint != MESSAGES_ENDPOINT:
            raise UpstreamRejected(f"{operation}: Anthropic serves only {MESSAGES_ENDPOINT}", operation=operation)
        response = await self._call(
            operation, self._client.post(endpoint, body=upstream_body(body), cast_to=httpx2.Response)
        )
        try:
            answer = response.json()
        except ValueError as exc:  # a 2xx that is not JSON: a proxy's page; the next call may be answered
            raise UpstreamTransient(f"{operation}: the answer is not JSON", operation=operation) from exc
        if not isinstance(answer, dict):
            raise UpstreamTransient(f"{operation}: the answer is not a JSON object", operation=operation)
        return UpstreamResponse(response.status_code, answer, response.headers.get("request-id"))

    async def close(self) -> None:
        """Stop waiting for recordings and close the HTTP client."""
        for task in list(self._holds):
            task.cancel()
        await self._client.close()


async def _read(call: Awaitable[T]) -> T:
    """A ledger read; a database fault is transient to the caller (it retries the whole find)."""
    try:
        return await call
    except (SQLAlchemyError, OSError) as exc:
        raise UpstreamTransient(f"find: batch-gpt's records are unavailable: {exc}", operation="find") from exc
