"""Anthropic's Message Batches in batch-gpt's terms (pure): batch-gpt's JSONL lines as inline requests, and a
``MessageBatch`` as an :class:`UpstreamBatch` in OpenAI's status vocabulary.

* A line ``{"custom_id", "method", "url", "body"}`` becomes the request ``{"custom_id", "params": body}``; the url
  must be ``/v1/messages``.
* ``processing_status`` ``in_progress`` is ``in_progress``, ``canceling`` is ``cancelling``; ``ended`` is
  ``cancelled`` once a cancel was initiated, else ``expired`` when requests expired, else ``completed``.
* ``request_counts``: ``total`` is their sum; ``completed`` the ``succeeded``; ``failed`` the ``errored`` and
  ``expired`` (OpenAI counts expired lines as failed; canceled ones are in neither, as OpenAI leaves them out).
* The results are served per batch: ``output_file_id`` is the batch id once it ended (the handle
  :meth:`AnthropicUpstream.result_lines` reads), ``error_file_id`` stays ``None``; no usage is reported.
"""

from __future__ import annotations

import json
from typing import Any

from anthropic.types.messages import MessageBatch

from batchgpt.upstream.records import UpstreamBatch
from schemas import BatchStatus

__all__ = ["MESSAGES_ENDPOINT", "inline_requests", "upstream_message_batch"]

MESSAGES_ENDPOINT = "/v1/messages"
"""The one endpoint a Message Batch runs."""


def inline_requests(lines: bytes) -> list[dict[str, Any]]:
    """The Message Batch ``requests`` of batch-gpt's JSONL lines.

    :raises ValueError: a line is not a JSON object with a ``custom_id`` and a ``body`` for ``/v1/messages``.
    """
    requests: list[dict[str, Any]] = []
    for number, raw in enumerate(lines.splitlines(), start=1):
        if not raw.strip():
            continue
        line = json.loads(raw)
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict) or "custom_id" not in line:
            raise ValueError(f"line {number} is not a batch line with a custom_id and a body")
        if line.get("url", MESSAGES_ENDPOINT) != MESSAGES_ENDPOINT:
            raise ValueError(f"line {number} targets {line.get('url')!r}; a Message Batch runs only /v1/messages")
        requests.append({"custom_id": str(line["custom_id"]), "params": line["body"]})
    if not requests:
        raise ValueError("a Message Batch needs at least one request")
    return requests


def _status(batch: MessageBatch) -> BatchStatus:
    if batch.processing_status == "in_progress":
        return BatchStatus.IN_PROGRESS
    if batch.processing_status == "canceling":
        return BatchStatus.CANCELLING
    if batch.cancel_initiated_at is not None:
        return BatchStatus.CANCELLED
    return BatchStatus.EXPIRED if batch.request_counts.expired > 0 else BatchStatus.COMPLETED


def upstream_message_batch(batch: MessageBatch) -> UpstreamBatch:
    """Our record of a ``MessageBatch``."""
    counts = batch.request_counts
    ended = batch.processing_status == "ended"
    return UpstreamBatch(
        id=batch.id,
        status=_status(batch),
        created_at=batch.created_at.timestamp(),
        output_file_id=batch.id if ended else None,
        total=counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired,
        completed=counts.succeeded,
        failed=counts.errored + counts.expired,
        terminal_at=batch.ended_at.timestamp() if batch.ended_at is not None else None,
    )
