"""Validation isolation (pure): which lines of a failed batch its ``errors.data`` blames, and whether the
others are to be resubmitted rather than failed with them.

When the provider fails a whole batch at validation, it reports one ``errors.data`` entry per offending line
(``line`` is the input file's **1-based** line number) and runs nothing. The collator wrote the file from the
batch's members in ``line_no`` order (0-based, one JSONL line per member, no blank lines), so entry ``line``
``N`` is the member with ``line_no == N - 1``.

The failure *isolates* its lines (their callers get the error, everyone else gets a new attempt in a new
batch) only when it blames some lines of the batch but not all of them, and every entry names a line of the
batch: an entry without a line (``empty_file``, ``too_many_tasks``, an input file not found …), or with a
line the batch does not have, concerns the whole batch, and every member is answered with the error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Blame", "blame_lines"]


@dataclass(frozen=True)
class Blame:
    """What a failed batch's ``errors.data`` says about its lines."""

    errors: tuple[dict[str, Any], ...]
    """The batch's ``errors.data`` entries, as recorded."""
    by_line: Mapping[int, dict[str, Any]]
    """0-based ``line_no`` -> the first entry naming that line."""
    isolating: bool
    """Some lines but not all are blamed, and nothing concerns the whole batch: the others are resubmitted."""

    def entry_for(self, line_no: int) -> dict[str, Any] | None:
        """The entry blaming the member at ``line_no`` (0-based), if any."""
        return self.by_line.get(line_no)


def _line_number(entry: dict[str, Any]) -> int | None:
    line = entry.get("line")
    return line if isinstance(line, int) and not isinstance(line, bool) else None


def blame_lines(errors: Sequence[dict[str, Any]], *, line_count: int) -> Blame:
    """Map ``errors.data`` (1-based ``line``) onto a batch of ``line_count`` lines (0-based ``line_no``)."""
    by_line: dict[int, dict[str, Any]] = {}
    whole_batch = False
    for entry in errors:
        number = _line_number(entry)
        if number is None or not 1 <= number <= line_count:
            whole_batch = True
            continue
        by_line.setdefault(number - 1, entry)
    isolating = bool(by_line) and not whole_batch and len(by_line) < line_count
    return Blame(errors=tuple(errors), by_line=by_line, isolating=isolating)
