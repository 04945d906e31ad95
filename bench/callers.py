"""Official OpenAI SDK callers at a constant rate, for the fault benchmarks.

Each call is timed from its send to its caller's answer (retries included), checked against the simulator's
answer for its own prompt, and every HTTP exchange the SDK made on the way (its retries too) is counted through an
httpx event hook: the statuses the callers saw, and the attempts that got no HTTP answer at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openai import DEFAULT_MAX_RETRIES, AsyncOpenAI, DefaultAsyncHttpxClient

from batchgpt.simulator.answers import expected_chat_content
from bench.figures import CallTiming

__all__ = ["CallRecord", "Callers", "MODELS", "chat_body"]

MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini")


def chat_body(index: int) -> dict[str, Any]:
    """A chat call with a prompt of its own, over three models (three batches per window)."""
    return {
        "model": MODELS[index % len(MODELS)],
        "messages": [{"role": "user", "content": f"call {index} {uuid.uuid4().hex}"}],
    }


@dataclass
class CallRecord:
    """One caller: its body, when it was sent and answered, and how it ended."""

    body: dict[str, Any]
    sent_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    """When the caller got its answer or its error."""
    error: str | None = None
    """The exception the SDK raised once its retries were spent (``None``: answered)."""
    wrong: bool = False
    """Answered with another call's content."""

    @property
    def timing(self) -> CallTiming:
        return CallTiming(self.sent_at, self.ended_at)


@dataclass
class Callers:
    """Sends ``calls`` chat completions at ``per_second`` through one ``AsyncOpenAI`` client and records them."""

    base_url: str
    max_retries: int = DEFAULT_MAX_RETRIES
    records: list[CallRecord] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    attempts: int = 0
    started_at: float = 0.0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def _on_request(self, request: Any) -> None:
        self.attempts += 1

    async def _on_response(self, response: Any) -> None:
        self.statuses[response.status_code] += 1

    def client(self) -> AsyncOpenAI:
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [self._on_request], "response": [self._on_response]}
        http_client = DefaultAsyncHttpxClient(event_hooks=hooks)
        return AsyncOpenAI(
            base_url=self.base_url, api_key="sk-any", max_retries=self.max_retries, http_client=http_client
        )

    async def send(self, client: AsyncOpenAI, calls: int, per_second: float) -> None:
        """Start one call every ``1 / per_second`` seconds on a fixed timetable (a late start is not made up by
        the following ones being later)."""
        self.started_at = time.monotonic()
        for i in range(calls):
            delay = self.started_at + i / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the callers' timetable, not a wait for anything
            record = CallRecord(body=chat_body(i), sent_at=time.monotonic())
            self.records.append(record)
            self._tasks.append(asyncio.ensure_future(self._call(client, record)))

    async def _call(self, client: AsyncOpenAI, record: CallRecord) -> None:
        try:
            reply = await client.chat.completions.create(**record.body)
        except Exception as exc:  # noqa: BLE001 - a caller's failure is a figure, not a crash of the benchmark
            record.error = f"{type(exc).__name__}: {str(exc)[:120]}"
            record.ended_at = time.monotonic()
            return
        record.answered_at = record.ended_at = time.monotonic()
        record.wrong = reply.choices[0].message.content != expected_chat_content(record.body)

    async def settle(self, timeout_s: float) -> None:
        """Wait until every call ended or ``timeout_s`` passed; the calls still waiting are cancelled."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def unanswered(self) -> list[CallRecord]:
        return [r for r in self.records if r.answered_at is None and r.error is None]

    @property
    def failed(self) -> list[CallRecord]:
        return [r for r in self.records if r.error is not None]

    @property
    def answered(self) -> list[CallRecord]:
        return [r for r in self.records if r.answered_at is not None]

    @property
    def no_http_answer(self) -> int:
        """Attempts that got no HTTP answer (refused or reset connections, timeouts), besides the last attempt of
        each unanswered caller (cancelled while it waited)."""
        return self.attempts - sum(self.statuses.values()) - len(self.unanswered)
