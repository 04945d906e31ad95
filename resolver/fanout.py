"""Answering a terminal batch: stream its output and error files, decide each member's reply, publish in
chunks (awaiting delivery), then store results, member outcomes and request states for the chunk.

Only members without an outcome are considered, so a fan-out interrupted by a crash resumes where its
last stored chunk ended (replies of the interrupted chunk are published again: downstream dedupes by
request id).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass

from batchgpt.replies import ReplySink
from batchgpt.store.leases import renew
from batchgpt.store.members import open_members
from batchgpt.store.records import BatchRow, MemberRow
from resolver.context import WorkerContext
from resolver.errors import ResultLineError
from resolver.isolation import blame_lines
from resolver.results import Outcome, in_provider_shape, line_outcome, line_usage, parse_line
from resolver.verdicts import (
    Verdict,
    failed_batch_verdict,
    is_token_limit,
    missing_verdict,
    token_limit_verdict,
    unfinished_verdict,
)
from schemas import BatchStatus

__all__ = ["FanoutResult", "resolve_terminal"]

logger = logging.getLogger(__name__)

_UNFINISHED_STATUSES = (BatchStatus.EXPIRED, BatchStatus.CANCELLED)


@dataclass(frozen=True)
class FanoutResult:
    """How a fan-out ended: ``resolved``, or ``retry_at`` (token-limit wait) with tokens summed from the lines."""

    resolved: bool
    retry_at: float | None = None
    answered: int = 0
    resubmitted: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


async def _answer_failed(
    ctx: WorkerContext, batch: BatchRow, members: list[MemberRow], sink: ReplySink
) -> float | None:
    """Answer the members of a failed batch; return a retry time while a token-limit wait is running."""
    if is_token_limit(batch.errors):
        settings = ctx.settings
        due = (batch.terminal_at or time.time()) + settings.token_limit_wait_seconds
        would_resubmit = any(m.attempt < settings.token_limit_max_resubmits for m in members)
        if would_resubmit and time.time() < due:
            return due
        message = next(
            (str(e.get("message")) for e in batch.errors if e.get("code") == "token_limit_exceeded"),
            "Enqueued token limit reached.",
        )
        for member in members:
            verdict = token_limit_verdict(
                attempt=member.attempt, max_resubmits=settings.token_limit_max_resubmits, message=message
            )
            await sink.add(member, _shaped(batch, verdict))
        return None
    blame = blame_lines(batch.errors, line_count=batch.line_count)
    if blame.isolating:
        logger.info(
            "batch failed validation because of some lines; resubmitting the others",
            extra={"batch_id": batch.id, "blamed_lines": len(blame.by_line), "lines": batch.line_count},
        )
    max_resubmits = ctx.settings.isolation_max_resubmits
    for member in members:
        verdict = failed_batch_verdict(
            blame, line_no=member.line_no, attempt=member.attempt, max_resubmits=max_resubmits
        )
        await sink.add(member, _shaped(batch, verdict))
    return None


def _sink(ctx: WorkerContext, batch: BatchRow) -> ReplySink:
    """The reply sink for one batch, keeping this worker's lease while it answers."""
    settings = ctx.settings

    async def keep_lease() -> None:
        await asyncio.to_thread(
            renew, ctx.engine, batch_id=batch.id, owner=ctx.owner, now=time.time(), lease_seconds=settings.lease_seconds
        )

    def stored(outcome: str, count: int) -> None:
        ctx.metrics.lines.labels(outcome).inc(count)

    return ReplySink(
        ctx.engine,
        ctx.publisher,
        batch,
        chunk_size=settings.fanout_chunk_size,
        chunks_in_flight=settings.fanout_chunks_in_flight,
        keep_lease=keep_lease,
        keep_lease_every_s=settings.lease_seconds / 3,
        on_delivered=ctx.crash.replies_delivered,
        on_stored=stored,
        divert_late=settings.deadlines_on,
        announce=functools.partial(ctx.outbox.answered, batch) if ctx.outbox is not None else None,
    )


async def resolve_terminal(ctx: WorkerContext, batch: BatchRow) -> FanoutResult:
    """Answer (or resubmit) every member of a terminal batch that has no outcome yet."""
    members = await asyncio.to_thread(open_members, ctx.engine, batch_id=batch.id)
    if not members:  # every member was answered before a crash or a lost lease: nothing to read again
        return FanoutResult(resolved=True)
    sink = _sink(ctx, batch)
    try:
        if batch.status is BatchStatus.FAILED:
            retry_at = await _answer_failed(ctx, batch, members, sink)
            if retry_at is not None:
                return FanoutResult(resolved=False, retry_at=retry_at)
            await sink.close()
            return FanoutResult(resolved=True, answered=sink.answered, resubmitted=sink.resubmitted)
        input_tokens, output_tokens = await _answer_from_files(ctx, batch, members, sink)
        await sink.close()
    finally:
        await sink.abort()
    return FanoutResult(
        resolved=True,
        answered=sink.answered,
        resubmitted=sink.resubmitted,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


async def _answer_from_files(
    ctx: WorkerContext, batch: BatchRow, members: list[MemberRow], sink: ReplySink
) -> tuple[int, int]:
    """Stream the output then the error file, answer each member's line, then the members in neither file."""
    retry_limit = ctx.settings.retry_unfinished
    by_id = {m.request_id: m for m in members}
    seen: set[str] = set()
    input_tokens = output_tokens = 0
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        async for raw in ctx.upstream_for(batch.provider).result_lines(file_id):
            try:
                line = parse_line(raw)
            except ResultLineError as exc:
                logger.warning("skipping a bad result line", extra={"batch_id": batch.id, "error": str(exc)})
                continue
            if line is None or line.custom_id in seen:
                continue
            member = by_id.get(line.custom_id)
            if member is None:
                continue
            seen.add(line.custom_id)
            if line.unfinished and (batch.status in _UNFINISHED_STATUSES or line.per_line_outcome):
                verdict: Verdict = unfinished_verdict(
                    status=batch.status if batch.status in _UNFINISHED_STATUSES else line.unfinished_as,
                    attempt=member.attempt,
                    user_cancelled=batch.cancel_requested,
                    retry_unfinished=retry_limit,
                )
            else:
                verdict = line_outcome(line)
                used_in, used_out = line_usage(line)
                input_tokens += used_in
                output_tokens += used_out
            await sink.add(member, _shaped(batch, verdict))
    for member in members:
        if member.request_id not in seen:
            verdict = missing_verdict(
                status=batch.status,
                attempt=member.attempt,
                user_cancelled=batch.cancel_requested,
                retry_unfinished=retry_limit,
            )
            await sink.add(member, _shaped(batch, verdict))
    return input_tokens, output_tokens


def _shaped(batch: BatchRow, verdict: Verdict) -> Verdict:
    """A failure in the batch's provider's error body (Anthropic's for an Anthropic batch)."""
    return in_provider_shape(verdict, batch.provider) if isinstance(verdict, Outcome) else verdict
