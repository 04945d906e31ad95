"""Finding a Message Batch again without metadata: the rule :meth:`AnthropicUpstream.find` follows.

Anthropic's Message Batches carry no metadata, and their requests cannot be read back while they run; only a
batch's creation time, its request count and, once it ended, its results' ``custom_id``s (batch-gpt's request
ids) tell whose it is. So the create leaves a trace, and a batch row is matched in four steps:

0. **The create is marked and serialised**: before each create the row's ``create_started_at`` is set (a create
   the provider refuses with a 4xx takes it back), and one process creates one batch of a given size at a
   time, the next waiting until the previous one is recorded (or ``claim_wait_s`` passed). So a crash leaves at
   most one unrecorded batch of each size per collator process, created after its row's mark.
1. **Candidates**: the upstream batches created since the row was reserved (less a margin for clock skew)
   whose request count equals the row's line count and that no batch row records as its upstream batch yet
   (:func:`batchgpt.store.claims.claimed_upstream_ids`). A row without a mark never created one: nothing.
2. **Verified by results**: a candidate that has ended is read; it is this row's when its ``custom_id``s are
   exactly the row's members, and another row's (or nobody's) otherwise - then it is dropped, together with the
   row whose members it carries.
3. **Paired by order** (:func:`pair`): the candidates still running cannot be read, so they are paired with the
   *rivals* (rows that began a create and still wait for their batch, the same endpoint and line count), both
   in time order and aligned at the newest: the newest candidate belongs to the newest mark, and an older mark
   left without a candidate created nothing (its create failed before reaching the provider).

Limits: two collator processes that both crash while each holds an unrecorded batch of the same size, their
creates overlapping in time, can be paired crosswise while both batches run; so can a batch of the same size
created by another user of the same Anthropic workspace in the same minutes (give batch-gpt a workspace of its
own). No caller ever gets another's answer (the resolver matches each result line to its member by
``custom_id``), and the database's uniqueness of ``upstream_batch_id`` keeps two rows from recording one batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine

from batchgpt.store.claims import (
    SubmissionFacts,
    claimed_upstream_ids,
    mark_create_started,
    submission_facts,
    unmark_create_started,
)
from batchgpt.upstream.records import UpstreamBatch

__all__ = ["StoreLedger", "SubmissionLedger", "pair"]


class SubmissionLedger(Protocol):
    """What :class:`AnthropicUpstream` reads from and notes in batch-gpt's own records."""

    async def mark_started(self, batch_id: str) -> None:
        """Note that a create of ``batch_id`` begins now."""
        ...

    async def unmark_started(self, batch_id: str) -> None:
        """Take the note back: the provider refused the create."""
        ...

    async def facts(self, batch_id: str, *, since: float) -> SubmissionFacts | None:
        """The row's line count, custom_ids and rivals (``None``: no such row)."""
        ...

    async def claimed(self, upstream_ids: Sequence[str]) -> set[str]:
        """Which of ``upstream_ids`` a batch row already records."""
        ...


class StoreLedger:
    """:class:`SubmissionLedger` on the database (:mod:`batchgpt.store.claims`), off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def mark_started(self, batch_id: str) -> None:
        await asyncio.to_thread(mark_create_started, self._engine, batch_id, now=time.time())

    async def unmark_started(self, batch_id: str) -> None:
        await asyncio.to_thread(unmark_create_started, self._engine, batch_id)

    async def facts(self, batch_id: str, *, since: float) -> SubmissionFacts | None:
        return await asyncio.to_thread(submission_facts, self._engine, batch_id, since=since)

    async def claimed(self, upstream_ids: Sequence[str]) -> set[str]:
        return await asyncio.to_thread(claimed_upstream_ids, self._engine, list(upstream_ids))


def pair(batch_id: str, rivals: Sequence[str], candidates: Sequence[UpstreamBatch]) -> UpstreamBatch | None:
    """The candidate paired with ``batch_id`` (pure): rivals (in the order their creates began, ``batch_id`` among
    them) and candidates (oldest first) aligned at the newest; an older rival left over gets nothing.
    """
    if batch_id not in rivals:
        return None
    ordered = sorted(candidates, key=lambda b: (b.created_at, b.id))
    index = list(rivals).index(batch_id) - (len(rivals) - len(ordered))
    return ordered[index] if 0 <= index < len(ordered) else None
