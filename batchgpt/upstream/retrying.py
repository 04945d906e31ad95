"""Retries through tenacity with the one :class:`~batchgpt.upstream.backoff.Backoff` policy.

::

    result = await retry(call, policy=Backoff(base_s=0.5, cap_s=30), retry_on=is_transient, max_attempts=5)

The wait honours the ``Retry-After`` of an :class:`~batchgpt.upstream.errors.UpstreamError` that ended an
attempt; the last exception is re-raised once the attempts are spent or it is not worth retrying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_never

from batchgpt.upstream.backoff import Backoff
from batchgpt.upstream.errors import UpstreamError

__all__ = ["OnRetry", "retry"]

T = TypeVar("T")

OnRetry = Callable[[int, BaseException, float], None]
"""Called before each backoff sleep with the failed attempt's number, its exception and the delay."""


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None and state.outcome.failed else None


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    policy: Backoff,
    retry_on: Callable[[BaseException], bool],
    max_attempts: int | None = None,
    attempts_before: int = 0,
    on_retry: OnRetry | None = None,
) -> T:
    """Await ``call()`` until it returns, retrying (through tenacity) while ``retry_on(exception)`` holds.

    ``max_attempts`` bounds the attempts made by this loop (``None``: retry for ever); ``attempts_before``
    counts attempts already made elsewhere (a previous worker's), so the backoff and ``on_retry`` see the
    absolute attempt number.
    """

    def wait(state: RetryCallState) -> float:
        failure = _failure(state)
        retry_after = failure.retry_after_s if isinstance(failure, UpstreamError) else None
        return policy.delay(attempts_before + state.attempt_number, retry_after_s=retry_after)

    def before_sleep(state: RetryCallState) -> None:
        failure = _failure(state)
        if on_retry is not None and failure is not None:
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            on_retry(attempts_before + state.attempt_number, failure, delay)

    attempts = AsyncRetrying(
        retry=retry_if_exception(retry_on),
        wait=wait,
        stop=stop_never if max_attempts is None else stop_after_attempt(max_attempts),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in attempts:
        with attempt:
            return await call()
    raise AssertionError("tenacity ended without a result or an exception")  # pragma: no cover
