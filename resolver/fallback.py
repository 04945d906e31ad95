"""The deadline fallback for one claimed request: call the provider synchronously (or flex), store, deliver.

Order (each step safe to repeat after a crash; the claim's lease lapses and any resolver takes it again):

1. a result already stored (an earlier owner stored it, then died) is delivered as it is: no second call;
2. a batch line that came back late since the claim answers instead, at no cost (:func:`chosen`); it also
   answers when the call below fails for good;
3. otherwise the provider's synchronous endpoint is called through the upstream edge, with the one backoff
   policy on transient errors (``BATCHGPT_FALLBACK_MAX_ATTEMPTS``); ``flex`` adds ``service_tier: "flex"`` on
   the endpoints that take it (chat completions, responses), the others go ``sync``;
4. the answer is stored unless a result exists (:func:`batchgpt.store.deadlines.store_answer`), and what is
   stored is what gets delivered, so two owners of one claim still deliver one answer;
5. the reply is produced to the caller's ``reply_to`` and awaited; then the request is moved to its final state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from confluent_kafka import KafkaException

from batchgpt.replies import reply_message, result_row
from batchgpt.settings import DeadlineFallback
from batchgpt.store import deadlines
from batchgpt.store.deadlines import FallbackClaim, StoredAnswer
from batchgpt.store.records import ResultRow
from batchgpt.upstream import Backoff, UpstreamError, retry
from batchgpt.webhooks.events import request_webhook
from resolver.context import WorkerContext
from resolver.results import Outcome, error_envelope, error_outcome
from schemas import Endpoint, ReplyStatus, RequestMessage, decode

__all__ = ["FLEX_ENDPOINTS", "FallbackCall", "answer_claim", "chosen", "error_answer", "fallback_call"]

logger = logging.getLogger(__name__)

FLEX_ENDPOINTS = frozenset({Endpoint.CHAT_COMPLETIONS, Endpoint.RESPONSES})
"""Where OpenAI offers flex processing; a request to another endpoint falls back to the synchronous call."""

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 10.0
"""The fallback's backoff: a caller is waiting past its deadline, so the ceiling stays short (Retry-After wins)."""


@dataclass(frozen=True, slots=True)
class FallbackCall:
    """What the fallback sends: how (``sync`` or ``flex``, stored as ``answered_by``), where, and the body."""

    kind: str
    endpoint: Endpoint
    body: dict[str, Any]


def fallback_call(mode: DeadlineFallback, request: RequestMessage) -> FallbackCall:
    """The call answering ``request`` under ``BATCHGPT_DEADLINE_FALLBACK=mode`` (``sync`` or ``flex``; pure)."""
    if mode == "flex" and request.endpoint in FLEX_ENDPOINTS:
        return FallbackCall("flex", request.endpoint, {**request.body, "service_tier": "flex"})
    return FallbackCall("sync", request.endpoint, dict(request.body))


def error_answer(exc: UpstreamError) -> Outcome:
    """The caller's answer when the fallback call failed for good: the provider's own status and error body when
    it sent one, else 503 ``upstream_unavailable`` (pure)."""
    if exc.status is None:
        return error_outcome(
            f"The deadline passed and the fallback call could not reach the provider ({exc}).",
            code="upstream_unavailable",
            status_code=503,
        )
    body = exc.body if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict) else None
    if body is None:  # the SDK hands the error object itself, not its envelope
        inner = exc.body if isinstance(exc.body, dict) and "message" in exc.body else None
        body = (
            {"error": inner} if inner is not None else error_envelope(str(exc), code=exc.code, status_code=exc.status)
        )
    return Outcome(ReplyStatus.FAILED, exc.status, body)


async def _call(ctx: WorkerContext, call: FallbackCall) -> Outcome:
    """The provider's answer to ``call`` (retried on transient errors), or its final error as an answer."""
    settings = ctx.settings

    def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
        ctx.metrics.upstream_errors.labels(operation="respond").inc()
        logger.warning(
            "deadline fallback call failed; retrying",
            extra={"endpoint": call.endpoint.value, "attempt": attempt, "error": str(exc), "delay_s": round(delay, 3)},
        )

    try:
        response = await retry(
            lambda: ctx.upstream_for(call.endpoint.provider.value).respond(call.endpoint.value, call.body),
            policy=Backoff(base_s=_BACKOFF_BASE_S, cap_s=_BACKOFF_CAP_S),
            retry_on=lambda exc: isinstance(exc, UpstreamError) and exc.transient,
            max_attempts=settings.fallback_max_attempts,
            on_retry=on_retry,
        )
    except UpstreamError as exc:
        ctx.metrics.upstream_errors.labels(operation="respond").inc()
        return error_answer(exc)
    return Outcome(ReplyStatus.COMPLETED, response.status, response.body, response.request_id)


async def _keep_lease(ctx: WorkerContext, request_id: str) -> None:
    """Renew the claim's lease every third of it while the call runs (a flex call can take minutes)."""
    lease = ctx.settings.lease_seconds
    while True:
        await asyncio.sleep(lease / 3)
        kept = await asyncio.to_thread(
            deadlines.renew, ctx.engine, request_id=request_id, owner=ctx.owner, now=time.time(), lease_s=lease
        )
        if not kept:
            return


async def _deliver(ctx: WorkerContext, request: RequestMessage, answer: StoredAnswer) -> None:
    """Produce the stored answer to the caller's ``reply_to`` (the default replies topic if Kafka refuses it)."""
    reply = reply_message(answer.request_id, request.tenant, answer)
    try:
        await ctx.publisher.send_nowait(reply, request.reply_to)
    except KafkaException:
        if request.reply_to is None:
            raise
        await ctx.publisher.send_nowait(reply, None)


def chosen(late: ResultRow | None, outcome: Outcome | None) -> bool:
    """Whether the late batch line answers instead of the fallback call (pure): when it came back before the call
    was made (no cost), or when the call failed for good (the batch's own answer beats an error)."""
    if late is None:
        return False
    return outcome is None or outcome.status is not ReplyStatus.COMPLETED


async def _answer(ctx: WorkerContext, claim: FallbackClaim, request: RequestMessage) -> tuple[ResultRow, str]:
    """The result row to store and how it was answered: the fallback call's, or the late batch line's."""
    late = await asyncio.to_thread(deadlines.late_line, ctx.engine, claim.request_id)
    outcome = None
    kind = "batch"
    if not chosen(late, None):
        call = fallback_call(ctx.settings.deadline_fallback, request)
        keeper = asyncio.create_task(_keep_lease(ctx, claim.request_id))
        try:
            outcome = await _call(ctx, call)
        finally:
            keeper.cancel()
        ctx.metrics.fallbacks.labels(call.kind, outcome.status.value).inc()
        late = await asyncio.to_thread(deadlines.late_line, ctx.engine, claim.request_id)
        kind = call.kind
    if late is not None and chosen(late, outcome):
        return replace(late, tenant=claim.tenant, completed_at=time.time()), "batch"
    assert outcome is not None
    return result_row(claim.request_id, claim.tenant, outcome, time.time(), request.endpoint.value), kind


async def answer_claim(ctx: WorkerContext, claim: FallbackClaim) -> None:
    """Answer one claimed request through the fallback, exactly once (see the module's order of steps)."""
    ctx.metrics.fallback_claims.inc()
    ctx.crash.fallback_claimed()
    request = decode(RequestMessage, claim.request_json)
    stored = await asyncio.to_thread(deadlines.stored_answer, ctx.engine, claim.request_id)
    if stored is None:
        row, kind = await _answer(ctx, claim, request)
        stored = await asyncio.to_thread(deadlines.store_answer, ctx.engine, row, answered_by=kind)
        logger.info(
            "deadline passed; answered by the fallback",
            extra={
                "request_id": claim.request_id,
                "answered_by": stored.answered_by,
                "status_code": stored.status_code,
                "late_s": round(time.time() - claim.deadline_at, 3),
            },
        )
    await _deliver(ctx, request, stored)
    if ctx.outbox is not None and request.notify:  # webhooks out: announced before finishing, as the reply sink does
        event = request_webhook(
            request_id=stored.request_id,
            status=stored.status,
            status_code=stored.status_code,
            endpoint=request.endpoint.value,
        )
        await ctx.outbox.publish([event])
    await asyncio.to_thread(deadlines.finish, ctx.engine, stored, now=time.time())
