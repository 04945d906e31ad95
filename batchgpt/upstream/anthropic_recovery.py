"""Finding a Message Batch again without metadata: the rule :meth:`AnthropicUpstream.find` follows.

Anthropic's Message Batches carry no metadata, and their requests cannot be read back while they run; only a
batch's creation time, its request count and, once it ended, its results' ``custom_id``s (batch-gpt's request
ids) tell whose it is. So a batch row is matched to an upstream batch in three steps:

1. **Candidates**: the upstream batches created since the row was reserved (less a margin for clock skew)
   whose request count equals the row's line count and that no batch row records as its upstream batch yet
   (:func:`batchgpt.store.claims.claimed_upstream_ids`).
2. **Verified by results**: a candidate that has ended is read; it is this row's when its ``custom_id``s are
   exactly the row's members, and another row's (or nobody's) otherwise - then it is dropped, together with the
   row whose members it carries.
3. **Paired by order** (:func:`pair`): the candidates still running cannot be read, so they are paired, oldest
   first, with the rows that look the same (the *rivals*: waiting for their upstream batch, the same endpoint and
   line count, reserved since the same time), oldest first. With one such row and one candidate - every case
   but two same-size batches created close together and both unrecorded - this is exact.

Limits: two same-size rows whose creates ran in the opposite order of their reservations (two collator workers
racing) can be paired crosswise while both batches run. No caller ever gets another's answer (the resolver
matches each result line to its member by ``custom_id``), but the members of a crossed row would find no line
in the results they were given; the database's uniqueness of ``upstream_batch_id`` keeps two rows from ever
recording the same batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine

from batchgpt.store.claims import SubmissionFacts, claimed_upstream_ids, submission_facts
from batchgpt.upstream.records import UpstreamBatch

__all__ = ["StoreLedger", "SubmissionLedger", "pair"]


class SubmissionLedger(Protocol):
    """What :meth:`AnthropicUpstream.find` reads from batch-gpt's own records."""

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

    async def facts(self, batch_id: str, *, since: float) -> SubmissionFacts | None:
        return await asyncio.to_thread(submission_facts, self._engine, batch_id, since=since)

    async def claimed(self, upstream_ids: Sequence[str]) -> set[str]:
        return await asyncio.to_thread(claimed_upstream_ids, self._engine, list(upstream_ids))


def pair(batch_id: str, rivals: Sequence[str], candidates: Sequence[UpstreamBatch]) -> UpstreamBatch | None:
    """The candidate paired with ``batch_id``: the k-th oldest candidate for the k-th oldest rival (pure).

    ``rivals`` are in reservation order and include ``batch_id``; ``candidates`` in any order.
    """
    if batch_id not in rivals:
        return None
    ordered = sorted(candidates, key=lambda b: (b.created_at, b.id))
    rank = list(rivals).index(batch_id)
    return ordered[rank] if rank < len(ordered) else None
