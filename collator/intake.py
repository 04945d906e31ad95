"""Sorting a window's raw records into requests and dead letters (pure: no I/O).

Every record either decodes into a :class:`RequestMessage` or becomes a :class:`DeadLetter` with
the reason; nothing here raises on bad input. A request seen twice in one window (same request id
and attempt) is kept once.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.codec import DecodeError, decode
from schemas.messages import DeadLetter, RequestMessage

__all__ = ["RawRecord", "SortedWindow", "dead_letter_for", "sort_window"]


@dataclass(frozen=True)
class RawRecord:
    """One message as it came off the requests topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class SortedWindow:
    """A window's valid requests (first occurrence order) and its dead letters."""

    requests: tuple[RequestMessage, ...]
    dead_letters: tuple[DeadLetter, ...]
    duplicates: int
    sources: dict[tuple[str, int], RawRecord]
    """Where each kept request came from (for a later dead letter, e.g. too large)."""


def _text(raw: bytes | None) -> tuple[str, str]:
    if raw is None:
        return "", "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def dead_letter_for(record: RawRecord, reason: str, error: str) -> DeadLetter:
    """The dead letter describing ``record`` (its value kept verbatim, or base64 when not UTF-8)."""
    value, encoding = _text(record.value)
    key = None if record.key is None else _text(record.key)[0]
    return DeadLetter(
        reason=reason,  # type: ignore[arg-type]
        error=error[:2000],
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=key,
        value=value,
        value_encoding=encoding,  # type: ignore[arg-type]
    )


def sort_window(records: Sequence[RawRecord]) -> SortedWindow:
    """Decode every record; bad ones become dead letters, duplicates are dropped."""
    requests: list[RequestMessage] = []
    dead: list[DeadLetter] = []
    seen: dict[tuple[str, int], RawRecord] = {}
    duplicates = 0
    for record in records:
        try:
            request = decode(RequestMessage, record.value)
        except DecodeError as exc:
            dead.append(dead_letter_for(record, exc.reason, str(exc)))
            continue
        key = (request.request_id, request.attempt)
        if key in seen:
            duplicates += 1
            continue
        seen[key] = record
        requests.append(request)
    return SortedWindow(requests=tuple(requests), dead_letters=tuple(dead), duplicates=duplicates, sources=seen)
