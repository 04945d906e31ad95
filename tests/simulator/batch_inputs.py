"""Helpers for the simulator tests: batch input lines, uploads, and waiting for a batch with a deadline."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from openai import AsyncOpenAI, OpenAI
from openai.types import Batch

from batchgpt.simulator.testing import wait_until

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def chat_body(text: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """A chat request body with one user message."""
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def chat_line(custom_id: str, text: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """One batch input line for the chat endpoint."""
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": chat_body(text, model, **extra)}


def embedding_line(
    custom_id: str, text: str | list[str], model: str = "text-embedding-3-small"
) -> dict[str, Any]:
    """One batch input line for the embeddings endpoint."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": EMBEDDINGS,
        "body": {"model": model, "input": text},
    }


def jsonl(lines: list[Any]) -> bytes:
    """JSONL bytes; strings are written as they are (to make broken lines)."""
    return ("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n").encode()


def upload(client: OpenAI, lines: list[Any], filename: str = "input.jsonl") -> str:
    """Upload a batch input file; its id."""
    return client.files.create(file=(filename, jsonl(lines), "application/jsonl"), purpose="batch").id


def submit(client: OpenAI, lines: list[Any], endpoint: str = CHAT, **kwargs: Any) -> Batch:
    """Upload and create a batch."""
    file_id = upload(client, lines)
    return client.batches.create(input_file_id=file_id, endpoint=endpoint, completion_window="24h", **kwargs)


def wait_status(client: OpenAI, batch_id: str, statuses: set[str] = TERMINAL, timeout: float = 10.0) -> Batch:
    """Poll ``batches.retrieve`` until the batch is in one of ``statuses``."""

    def check() -> Batch | None:
        batch = client.batches.retrieve(batch_id)
        return batch if batch.status in statuses else None

    return wait_until(check, timeout=timeout, what=f"batch {batch_id} in {sorted(statuses)}")


async def async_wait_status(
    client: AsyncOpenAI, batch_id: str, statuses: set[str] = TERMINAL, timeout: float = 10.0
) -> Batch:
    """The asyncio form of ``wait_status``."""
    deadline = time.monotonic() + timeout
    while True:
        batch = await client.batches.retrieve(batch_id)
        if batch.status in statuses:
            return batch
        if time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch_id} still {batch.status} after {timeout} s")
        await asyncio.sleep(0.01)


def read_lines(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    """The JSON lines of an output or error file ([] for no file)."""
    if not file_id:
        return []
    text = client.files.content(file_id).text
    return [json.loads(line) for line in text.splitlines() if line.strip()]
