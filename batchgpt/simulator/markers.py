"""What a request says: the text its answer is derived from, and the ``[sim:...]`` markers in it.

Markers are read from the last user message of a chat request (or from any input of an
embeddings request):

* ``[sim:error=NNN]`` makes that request answer HTTP ``NNN`` with OpenAI's error envelope
  (in a batch: a line in the error file with ``response.status_code = NNN``);
  ``[sim:error=NNN:some_code]`` also sets ``error.code``.
* ``[sim:slow]`` makes that line take ``slow_line_seconds`` to process in a batch, so it is still
  unfinished when the batch expires or is cancelled.
* ``[sim:invalid]`` makes batch validation report that line (``errors.data`` entry with its line number,
  code ``invalid_request``), which fails the whole batch; ``[sim:invalid=some_code]`` sets the code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["LineMarkers", "embedding_inputs", "last_user_text", "markers_of"]

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


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        ]
        return "\n".join(parts)
    return ""


def last_user_text(body: dict[str, object]) -> str:
    """The text of the last ``user`` message (or of the last message when no user spoke)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ""
    dicts = [m for m in messages if isinstance(m, dict)]
    users = [m for m in dicts if m.get("role") == "user"]
    chosen = users[-1] if users else (dicts[-1] if dicts else {})
    return _content_text(chosen.get("content"))


def embedding_inputs(body: dict[str, object]) -> list[str]:
    """Each embeddings input as a string (token arrays are rendered as their JSON)."""
    raw = body.get("input")
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        if raw and all(isinstance(x, int) for x in raw):
            return [json.dumps(raw)]
        return [x if isinstance(x, str) else json.dumps(x) for x in raw]
    return []


def markers_of(endpoint: str, body: dict[str, object]) -> LineMarkers:
    """The markers a request carries."""
    if endpoint.endswith("/embeddings"):
        text = "\n".join(embedding_inputs(body))
    else:
        text = last_user_text(body)
    match = _ERROR.search(text)
    invalid = _INVALID.search(text)
    return LineMarkers(
        error_status=int(match.group(1)) if match else None,
        error_code=match.group(2) if match else None,
        slow=_SLOW in text,
        invalid_code=(invalid.group(1) or "invalid_request") if invalid else None,
    )
