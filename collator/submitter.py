"""Find-or-create one upstream batch, exactly once, through :class:`batchgpt.upstream.Upstream`.

Every attempt but a batch's very first looks upstream for the batch created for our batch id (a previous
attempt, or a crashed worker, may have created it), and only then stages (uploads ``<batch id>.jsonl``) and
creates. The very first attempt, made by the worker that reserved the batch (the reservation records it,
with the lease), skips the look: every attempt is recorded before its first upstream write, so nothing can
be upstream before it. The lease is checked before every upstream write. Transient faults (429, 5xx,
timeouts, connection errors) are retried through tenacity with the shared backoff policy, honouring
``Retry-After``; before giving up, one last look catches a create that timed out but succeeded.

Each batch goes to the upstream of its provider (``openai``: OpenAI or Azure OpenAI; ``anthropic``: Message
Batches); a batch whose provider has no upstream configured is rejected at once (its callers get the error).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from batchgpt.upstream import (
    Backoff,
    StagedInput,
    Upstream,
    UpstreamBatch,
    UpstreamError,
    UpstreamRejected,
    UpstreamTransient,
    retry,
)
from collator.metrics import CollatorMetrics
from schemas.status import Provider

__all__ = ["SubmitOutcome", "Submitter"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SubmitOutcome:
    """The end of a submission: the upstream batch, or the error that made us give up."""

    batch: UpstreamBatch | None
    error: UpstreamError | None
    attempts: int
    adopted: bool = False


class _LeaseLost(Exception):
    """Another worker took the batch over during the attempt: stop without an error."""


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamTransient)


class Submitter:
    """Find-or-create upstream batches under the collator's lease, with retries."""

    def __init__(
        self,
        upstreams: Upstream | Mapping[str, Upstream],
        *,
        metrics: CollatorMetrics,
        max_attempts: int,
        backoff: Backoff,
    ) -> None:
        self._upstreams = dict(upstreams) if isinstance(upstreams, Mapping) else {Provider.OPENAI.value: upstreams}
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._backoff = backoff

    async def _counted(self, call: Awaitable[T]) -> T:
        """Await an upstream call, counting its failure by operation, kind and status."""
        try:
            return await call
        except UpstreamError as exc:
            self._metrics.upstream_errors.labels(
                operation=exc.operation, kind=exc.kind, status=str(exc.status or "")
            ).inc()
            raise

    async def submit(
        self,
        batch_id: str,
        *,
        content: bytes,
        endpoint: str,
        model: str,
        not_before: float,
        attempts_so_far: int = 0,
        keep_lease: Callable[[int], Awaitable[bool]],
        checkpoint: Callable[[str], None],
        provider: str = Provider.OPENAI.value,
    ) -> SubmitOutcome:
        """Find or create the batch, retrying transient faults up to the attempt limit.

        Attempt 1 (``attempts_so_far`` 0: the reserving worker's first) creates without looking first.

        ``keep_lease(attempt)`` is asked before every upstream write; it records the attempt number and
        keeps our lease (False: another worker took the batch over, stop). ``checkpoint(point)`` is the
        crash-test hook called after the upload and after the create. ``provider`` picks the upstream.
        """
        upstream = self._upstreams.get(provider)
        if upstream is None:
            refusal = UpstreamRejected(f"no upstream is configured for provider {provider!r}", operation="submit")
            return SubmitOutcome(batch=None, error=refusal, attempts=attempts_so_far + 1)
        staged: StagedInput | None = None
        attempt = attempts_so_far

        async def guard() -> None:
            if not await keep_lease(attempt):
                raise _LeaseLost

        async def one_attempt() -> SubmitOutcome:
            nonlocal attempt, staged
            attempt += 1
            await guard()
            if attempt > 1:
                found = await self._counted(upstream.find(batch_id, not_before=not_before))
                if found is not None:
                    return SubmitOutcome(batch=found, error=None, attempts=attempt, adopted=True)
            if staged is None:
                await guard()
                staged = await self._counted(upstream.stage(batch_id, content))
                checkpoint("after_upload")
            await guard()
            created = await self._counted(upstream.create(staged, endpoint=endpoint, model=model))
            checkpoint("after_create")
            return SubmitOutcome(batch=created, error=None, attempts=attempt)

        def on_retry(number: int, exc: BaseException, delay: float) -> None:
            logger.warning(
                "upstream fault, retrying",
                extra={"batch_id": batch_id, "error": str(exc), "attempt": number, "delay_s": round(delay, 3)},
            )

        last: UpstreamError | None = None
        if attempt < self._max_attempts:
            try:
                return await retry(
                    one_attempt,
                    policy=self._backoff,
                    retry_on=_transient,
                    max_attempts=self._max_attempts - attempts_so_far,
                    attempts_before=attempts_so_far,
                    on_retry=on_retry,
                )
            except _LeaseLost:
                return SubmitOutcome(batch=None, error=None, attempts=attempt)
            except UpstreamRejected as exc:
                logger.warning("upstream rejected the batch", extra={"batch_id": batch_id, "error": str(exc)})
                await self._discard(upstream, staged)
                return SubmitOutcome(batch=None, error=exc, attempts=attempt)
            except UpstreamTransient as exc:
                last = exc
        outcome = await self._last_look(upstream, batch_id, not_before=not_before, attempts=attempt, error=last)
        if outcome.batch is None:
            await self._discard(upstream, staged)
        return outcome

    async def _discard(self, upstream: Upstream, staged: StagedInput | None) -> None:
        """Delete the input file of a batch given up on (best effort: a provider holds only so many files)."""
        if staged is None or staged.input_file_id is None:
            return
        try:
            await self._counted(upstream.delete_file(staged.input_file_id))
        except UpstreamError as exc:
            logger.warning(
                "could not delete the input file", extra={"file_id": staged.input_file_id, "error": str(exc)}
            )

    async def _last_look(
        self, upstream: Upstream, batch_id: str, *, not_before: float, attempts: int, error: UpstreamError | None
    ) -> SubmitOutcome:
        """Before giving up, one more look: a create that timed out may have succeeded."""
        try:
            found = await self._counted(upstream.find(batch_id, not_before=not_before))
        except UpstreamError:
            found = None
        if found is not None:
            return SubmitOutcome(batch=found, error=None, attempts=attempts, adopted=True)
        return SubmitOutcome(
            batch=None,
            error=error or UpstreamTransient("submission attempts exhausted", operation="submit"),
            attempts=attempts,
        )
