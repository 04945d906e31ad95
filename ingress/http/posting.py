"""The one POST handler of the endpoint table: authenticate, read and validate, submit, and say how to answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ingress.admission.cache_policy import CacheMode, may_serve_stored
from ingress.admission.submission import Submission
from ingress.admission.submitter import Submitter
from ingress.http import streaming
from ingress.http.answers import Answer, Held, Replay
from ingress.http.auth import KeyRing
from ingress.http.deadline import deadline_seconds
from ingress.http.endpoints import EndpointSpec
from ingress.http.preferences import bypasses_cache, is_sdk_retry, wait_preference
from ingress.http.request_reading import Receive, Scope, read_body, request_headers
from ingress.http.validation import parse_body
from ingress.metrics import IngressMetrics
from ingress.replies.outcomes import Finished

__all__ = ["PostHandler", "PostLimits"]


@dataclass(frozen=True, slots=True)
class PostLimits:
    """The settings a POST is read with."""

    max_body_bytes: int
    max_wait_seconds: float
    cache: CacheMode  # BATCHGPT_CACHE
    deadlines: bool = False  # BATCHGPT_DEADLINE_FALLBACK is not none: Batchgpt-Deadline is recorded


class PostHandler:
    """``POST {endpoint}``: the answer to give (the stored result, or the ticket to hold)."""

    __slots__ = ("_keys", "_limits", "_metrics", "_submitter")

    def __init__(self, keys: KeyRing, submitter: Submitter, metrics: IngressMetrics, limits: PostLimits) -> None:
        self._keys = keys
        self._submitter = submitter
        self._metrics = metrics
        self._limits = limits

    async def __call__(self, spec: EndpointSpec, scope: Scope, receive: Receive) -> Answer:
        """Validate, submit (or re-attach) one POST.

        :raises IngressError: the call is refused (401, 400, 413, 409, 429, 503).
        """
        started = time.monotonic()
        limits = self._limits
        headers = request_headers(scope)
        tenant = self._keys.authenticate(headers.get("authorization"))
        body = parse_body(await read_body(receive, headers.get("content-length"), limits.max_body_bytes))
        spec.validate(body)
        deadline = deadline_seconds(headers.get("batchgpt-deadline"))
        preference = wait_preference(
            headers.get("prefer"), limits.max_wait_seconds, read_timeout=headers.get("x-stainless-read-timeout")
        )
        bypass = bypasses_cache(headers.get("cache-control"))
        use_cache = may_serve_stored(limits.cache, spec.endpoint.value, body, bypass=bypass)
        idempotency_key = headers.get("idempotency-key") or None
        item = Submission(
            tenant,
            spec.endpoint,
            body,
            idempotency_key[:255] if idempotency_key else None,
            use_cache,
            sdk_retry=is_sdk_retry(headers.get("x-stainless-retry-count")),
            deadline_seconds=deadline if limits.deadlines else None,
            notify=preference.asked_async,
        )
        outcome = await self._submitter.submit(item)
        stream = None if preference.respond_async else streaming.replayer_for(spec.endpoint, body)
        if isinstance(outcome, Finished):
            self._metrics.observe_answer(spec.endpoint, "stored", started)
            if stream is not None and outcome.ok:
                return Replay(outcome, stream)
            return outcome
        return Held(outcome, preference.wait_seconds, tenant, spec.endpoint, started, stream, preference.asked_async)
