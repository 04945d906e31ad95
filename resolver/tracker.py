"""One step on a claimed batch: send a requested cancel, poll upstream, record a status change, and at a
terminal state fan out; then release the lease with the next poll time (interval with jitter, or backoff)."""

from __future__ import annotations

import asyncio
import logging
import time

from batchgpt.kafka import DeliveryError
from batchgpt.store.batches import (
    forget_file,
    load_batch,
    mark_gone,
    mark_resolved,
    record_poll,
    record_tokens,
)
from batchgpt.store.leases import release
from batchgpt.store.records import BatchRow
from batchgpt.upstream import Backoff, UpstreamBatch, UpstreamConflict, UpstreamError
from resolver.context import WorkerContext
from resolver.errors import LeaseLostError
from resolver.fanout import FanoutResult, resolve_terminal
from resolver.schedule import next_poll_time, poll_delay_seconds
from schemas import BatchEvent, BatchEventKind, BatchStatus, Endpoint, RequestCounts, TokenUsage

__all__ = ["step"]

logger = logging.getLogger(__name__)

_CANCELLABLE = (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING)
_RUNNING = (BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, BatchStatus.CANCELLING)
_GONE_AFTER_404S = 3
"""Consecutive 404s after which a batch (or result file) is taken as gone upstream, so nobody waits forever."""
_BACKOFF_BASE_SECONDS = 1.0
"""First delay after an upstream error (or the poll interval, if shorter); then the shared backoff policy."""


def _event(batch: BatchRow, kind: BatchEventKind, *, error: str | None = None) -> BatchEvent:
    endpoint = batch.endpoint if batch.endpoint in {e.value for e in Endpoint} else None
    return BatchEvent(
        batch_id=batch.id,
        kind=kind,
        status=batch.status,
        upstream_batch_id=batch.upstream_batch_id,
        endpoint=Endpoint(endpoint) if endpoint else None,
        model=batch.model,
        request_counts=RequestCounts(
            total=batch.line_count, completed=batch.request_completed, failed=batch.request_failed
        ),
        usage=TokenUsage(
            input_tokens=batch.input_tokens,
            output_tokens=batch.output_tokens,
            total_tokens=batch.input_tokens + batch.output_tokens,
        ),
        error=error,
    )


async def _cancel(ctx: WorkerContext, batch: BatchRow) -> UpstreamBatch:
    """Carry out a requested cancel: check the status first, cancel once, re-read on a 409."""
    assert batch.upstream_batch_id is not None
    upstream = ctx.upstream_for(batch.provider)
    current = await upstream.retrieve(batch.upstream_batch_id)
    if current.status not in _CANCELLABLE:
        return current
    try:
        cancelled = await upstream.cancel(batch.upstream_batch_id)
    except UpstreamConflict:
        return await upstream.retrieve(batch.upstream_batch_id)
    logger.info("batch cancel sent upstream", extra={"batch_id": batch.id, "status": cancelled.status.value})
    return cancelled


async def _record(ctx: WorkerContext, batch: BatchRow, seen: UpstreamBatch) -> BatchRow:
    """Store what the poll saw; on a status change publish an event and move request states."""
    changed = seen.status is not batch.status or (seen.status.is_terminal and batch.terminal_at is None)
    now = time.time()
    await asyncio.to_thread(
        record_poll,
        ctx.engine,
        batch_id=batch.id,
        seen=seen,
        changed=changed,
        now=now,
        requests_running=seen.status in _RUNNING,
    )
    fresh = await asyncio.to_thread(load_batch, ctx.engine, batch.id)
    assert fresh is not None
    if changed:
        ctx.metrics.status_changes.labels(seen.status.value).inc()
        kind = BatchEventKind.TERMINAL if seen.status.is_terminal else BatchEventKind.STATUS_CHANGED
        error = str(seen.errors[0].get("message")) if seen.errors else None
        await ctx.publisher.event(_event(fresh, kind, error=error))
        logger.info(
            "batch status changed",
            extra={"batch_id": batch.id, "from": batch.status.value, "to": seen.status.value},
        )
    return fresh


async def _delete_input(ctx: WorkerContext, batch: BatchRow) -> None:
    """Delete the batch's input file upstream: every member is answered or resubmitted (as a new batch with its
    own file), so nothing reads it again, and a provider may hold only so many (Azure: 500 without an expiry).

    A transient failure is raised (the step backs off and comes back, the batch still unresolved); a refusal is
    logged and the batch resolved anyway (the file's expiry, when it has one, still removes it).
    """
    if batch.input_file_id is None:
        return
    try:
        await ctx.upstream_for(batch.provider).delete_file(batch.input_file_id)
    except UpstreamError as exc:
        if exc.transient:
            raise
        logger.warning(
            "input file not deleted upstream",
            extra={"batch_id": batch.id, "file_id": batch.input_file_id, "status": exc.status},
        )


async def _finish(ctx: WorkerContext, batch: BatchRow, result: FanoutResult) -> None:
    """Delete the input file, mark the batch resolved, publish ``resolved``, and count its tokens and saving."""
    await _delete_input(ctx, batch)
    now = time.time()
    if batch.input_tokens == 0 and batch.output_tokens == 0 and (result.input_tokens or result.output_tokens):
        await asyncio.to_thread(
            record_tokens,
            ctx.engine,
            batch_id=batch.id,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )
        reloaded = await asyncio.to_thread(load_batch, ctx.engine, batch.id)
        batch = reloaded or batch
    resolved = _event(batch, BatchEventKind.RESOLVED)
    await ctx.publisher.announce_end(resolved)  # webhooks out
    await asyncio.to_thread(mark_resolved, ctx.engine, batch_id=batch.id, owner=ctx.owner, now=now)
    await ctx.publisher.event(resolved)
    metrics = ctx.metrics
    metrics.batches_resolved.labels(batch.status.value).inc()
    if batch.terminal_at is not None:
        metrics.fanout_seconds.observe(max(0.0, now - batch.terminal_at))
    _count_money(ctx, batch)
    logger.info(
        "batch resolved",
        extra={
            "batch_id": batch.id,
            "status": batch.status.value,
            "answered": result.answered,
            "resubmitted": result.resubmitted,
        },
    )


def _count_money(ctx: WorkerContext, batch: BatchRow) -> None:
    """The resolved batch's tokens, cost and saving on the counters, per model (and tenant)."""
    metrics = ctx.metrics
    for kind, tokens in (("input", batch.input_tokens), ("output", batch.output_tokens)):
        metrics.tokens.labels(batch.model, kind).inc(tokens)
        metrics.tenant_tokens.labels(batch.model, batch.tenant, kind).inc(tokens)
    costs = ctx.prices.costs(batch.model, batch.input_tokens, batch.output_tokens)
    if costs is not None:
        metrics.saving_usd.labels(batch.model).inc(costs.saving_usd)
        metrics.tenant_saving_usd.labels(batch.model, batch.tenant).inc(costs.saving_usd)
        metrics.cost_usd.labels(batch.model, batch.tenant).inc(costs.batch_usd)


async def _handle_gone(ctx: WorkerContext, batch_id: str, exc: UpstreamError) -> None:
    """Give up on what the upstream keeps answering 404 for: the batch fails, or the file is dropped."""
    now = time.time()
    if exc.operation == "files.content" and exc.resource:
        await asyncio.to_thread(forget_file, ctx.engine, batch_id=batch_id, file_id=exc.resource)
        logger.warning("result file gone upstream", extra={"batch_id": batch_id, "file_id": exc.resource})
        return
    message = f"The upstream batch {exc.resource} no longer exists."
    await asyncio.to_thread(mark_gone, ctx.engine, batch_id=batch_id, message=message, now=now)
    batch = await asyncio.to_thread(load_batch, ctx.engine, batch_id)
    if batch is not None:
        ctx.metrics.status_changes.labels(batch.status.value).inc()
        await ctx.publisher.event(_event(batch, BatchEventKind.TERMINAL, error=message))
    logger.warning("batch gone upstream", extra={"batch_id": batch_id, "upstream_batch_id": exc.resource})


async def _release(ctx: WorkerContext, batch_id: str, *, next_poll_at: float, cancel_poll_at: float) -> None:
    await asyncio.to_thread(
        release,
        ctx.engine,
        batch_id=batch_id,
        owner=ctx.owner,
        next_poll_at=next_poll_at,
        cancel_poll_at=cancel_poll_at,
    )


async def step(ctx: WorkerContext, batch_id: str) -> None:
    """Advance one leased batch as far as it goes now, then release it (never raises but on cancellation)."""
    settings = ctx.settings
    try:
        batch = await asyncio.to_thread(load_batch, ctx.engine, batch_id)
        if batch is None or batch.resolved_at is not None:
            return
        upstream_id = batch.upstream_batch_id
        if upstream_id is None and batch.status is not BatchStatus.FAILED:
            return
        due_at = batch.next_poll_at
        # a terminal status we have not seen ourselves (e.g. the collator adopted an upstream batch that had
        # already finished) still needs one poll: the file ids and counts come from upstream; a batch that
        # failed before reaching upstream (the collator gave up submitting it) has nothing to poll
        if upstream_id is not None and (not batch.status.is_terminal or batch.terminal_at is None):
            if batch.cancel_requested and batch.status in _CANCELLABLE:
                seen = await _cancel(ctx, batch)
            else:
                seen = await ctx.upstream_for(batch.provider).retrieve(upstream_id)
            ctx.metrics.polls.inc()
            batch = await _record(ctx, batch, seen)
        delay = poll_delay_seconds(settings.poll_interval_for(batch.provider), settings.poll_jitter_fraction)
        now = time.time()
        next_poll_at = max(
            next_poll_time(due_at=due_at, now=now, delay_seconds=delay), now + settings.min_poll_gap_for(batch.provider)
        )
        if batch.status.is_terminal:
            result = await resolve_terminal(ctx, batch)
            if result.resolved:
                await _finish(ctx, batch, result)
                ctx.failures.pop(batch_id, None)
                return
            next_poll_at = result.retry_at or next_poll_at
        ctx.failures.pop(batch_id, None)
        await _release(ctx, batch_id, next_poll_at=next_poll_at, cancel_poll_at=time.time())
    except LeaseLostError:
        logger.warning("lease lost; another worker owns the batch now", extra={"batch_id": batch_id})
    except asyncio.CancelledError:
        await asyncio.shield(_release(ctx, batch_id, next_poll_at=time.time(), cancel_poll_at=time.time()))
        raise
    except Exception as exc:  # every failure ends in a backoff, never in a dead worker
        await _after_failure(ctx, batch_id, exc)


async def _after_failure(ctx: WorkerContext, batch_id: str, exc: Exception) -> None:
    """Count the failure, log it, and release the batch for a retry after the backoff (or at once when gone)."""
    settings = ctx.settings
    failures = ctx.failures.get(batch_id, 0) + 1
    ctx.failures[batch_id] = failures
    retry_after = exc.retry_after_s if isinstance(exc, UpstreamError) else None
    backoff = Backoff(
        base_s=min(settings.poll_interval_seconds, _BACKOFF_BASE_SECONDS), cap_s=settings.max_backoff_seconds
    )
    delay = backoff.delay(failures, retry_after_s=retry_after)
    if isinstance(exc, UpstreamError):
        ctx.metrics.upstream_errors.labels(exc.operation).inc()
        if exc.status == 404 and failures >= _GONE_AFTER_404S:
            try:
                await _handle_gone(ctx, batch_id, exc)
                ctx.failures.pop(batch_id, None)
                delay = 0.0
            except Exception:
                logger.exception("could not record a gone batch", extra={"batch_id": batch_id})
        logger.warning(
            "upstream call failed; backing off",
            extra={"batch_id": batch_id, "operation": exc.operation, "status": exc.status, "delay_s": delay},
        )
    elif isinstance(exc, DeliveryError):
        logger.warning("kafka delivery failed; backing off", extra={"batch_id": batch_id, "delay_s": delay})
    else:
        logger.error("batch step failed; backing off", exc_info=exc, extra={"batch_id": batch_id, "delay_s": delay})
    at = time.time() + delay
    try:
        await _release(ctx, batch_id, next_poll_at=at, cancel_poll_at=at)
    except Exception:  # the database itself is down: the lease expires on its own
        logger.exception("could not release the lease", extra={"batch_id": batch_id})
