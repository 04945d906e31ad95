"""Cursor pages as OpenAI's list endpoints return them (``after``, ``limit``, ``has_more``): pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from batchgpt.simulator.errors import SimError

__all__ = ["cursor_page"]


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Identified)


def cursor_page(
    records: Sequence[R],
    *,
    after: str | None,
    limit: int,
    render: Callable[[R], dict[str, object]],
    unknown_after: str,
) -> dict[str, object]:
    """The page of ``records`` (already in list order) that follows the record ``after``.

    An ``after`` that names no record is a 400 with ``unknown_after`` as the message, as OpenAI answers.
    """
    if after:
        ids = [record.id for record in records]
        if after not in ids:
            raise SimError(400, unknown_after, param="after")
        records = records[ids.index(after) + 1 :]
    page = records[:limit]
    return {
        "object": "list",
        "data": [render(record) for record in page],
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
        "has_more": len(records) > limit,
    }
