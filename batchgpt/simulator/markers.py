"""The ``[sim:...]`` markers a request carries, read from its text (``simulator.request_text``: the last
user message of a chat or Responses request, the prompt of a completion, any input of an embeddings
or moderations request):

* ``[sim:error=NNN]`` makes that request answer HTTP ``NNN`` with OpenAI's error envelope
  (in a batch: a line in the error file with ``response.status_code = NNN``);
  ``[sim:error=NNN:some_code]`` also sets ``error.code``.
* ``[sim:slow]`` makes that line take ``slow_line_seconds`` to process in a batch, so it is still
  unfinished when the batch expires or is cancelled.
* ``[sim:invalid]`` makes batch validation report that line (``errors.data`` entry with its line number,
  code ``invalid_request``), which fails the whole batch; ``[sim:invalid=some_code]`` sets the code.
* ``[sim:flag=CATEGORY,...]`` (moderations only; read by ``simulator.moderation_answers``) flags
  those moderation categories.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchgpt.simulator.request_text import embedding_inputs, last_user_text, request_text

__all__ = ["LineMarkers", "embedding_inputs", "last_user_text", "markers_of"]  # the text readers re-exported

_ERROR = re.compile(r"\[sim:error=(\d{3})(?::([A-Za-z0-9_.-]+))?\]")
_SLOW = "[sim:slow]"
_INVALID = re.compile(r"\[sim:invalid(?:=([A-Za-z0-9_.-]+))?\]")


@dataclass(frozen=True)
class LineMarkers:
    """The per-request behaviour a request asked for."""

    error_status: int | None = None
    error_code: str | None = None
    slow: bool = False
    invalid_code: str | None = None
    """Batch validation reports the line with this code."""


def markers_of(endpoint: str, body: dict[str, object]) -> LineMarkers:
    """The markers a request carries."""
    text = request_text(endpoint, body)
    match = _ERROR.search(text)
    invalid = _INVALID.search(text)
    return LineMarkers(
        error_status=int(match.group(1)) if match else None,
        error_code=match.group(2) if match else None,
        slow=_SLOW in text,
        invalid_code=(invalid.group(1) or "invalid_request") if invalid else None,
    )
