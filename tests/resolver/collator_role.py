"""Plays the collator's part of the contract for the resolver's tests (not a mock: the same writes).

It builds the JSONL from ``RequestMessage``s (``custom_id`` = request id, ``stream`` removed), uploads it
and creates the batch on the simulator with the official SDK, then writes in one transaction the
``batches`` row and one ``batch_members`` row per line (``line_no`` 0-based), as ingress/collator would
also have left a ``requests`` row in state ``submitted``; finally (optionally) publishes
``BatchEvent(kind=submitted)`` keyed by the batch id.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

from confluent_kafka import Producer
from openai import OpenAI
from sqlalchemy import Engine, insert

from batchgpt.settings import KafkaSettings
from batchgpt.store.tables import batch_members, batches, requests
from schemas import BatchEvent, BatchEventKind, BatchStatus, RequestMessage, encode

__all__ = ["announce", "batch_id_for", "jsonl_for", "make_request", "submit_as_collator"]


def make_request(
    request_id: str,
    text: str,
    *,
    model: str = "gpt-4o-mini",
    reply_topic: str | None = None,
    reply_partition: int | None = None,
    attempt: int = 0,
    body_extra: dict[str, object] | None = None,
) -> RequestMessage:
    """A chat request as ingress would produce it."""
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": text}]}
    body.update(body_extra or {})
    reply_to = {"topic": reply_topic, "partition": reply_partition} if reply_topic else None
    return RequestMessage.model_validate(
        {"request_id": request_id, "body": body, "reply_to": reply_to, "attempt": attempt}
    )


def jsonl_for(members: Sequence[RequestMessage]) -> bytes:
    """The batch input file, one line per request in order."""
    lines = []
    for request in members:
        body = {k: v for k, v in request.body.items() if k not in ("stream", "stream_options")}
        lines.append(
            json.dumps({"custom_id": request.request_id, "method": "POST", "url": request.endpoint.value, "body": body})
        )
    return ("\n".join(lines) + "\n").encode()


def batch_id_for(members: Sequence[RequestMessage]) -> str:
    """Our deterministic batch id from the sorted (request_id, attempt) pairs."""
    pairs = sorted((r.request_id, r.attempt) for r in members)
    return "bg_" + hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:32]


def submit_as_collator(
    *,
    client: OpenAI,
    engine: Engine,
    members: Sequence[RequestMessage],
    extra_members: Sequence[RequestMessage] = (),
    tenant: str = "default",
) -> str:
    """Upload + create upstream, then record the batch like the collator; return our batch id.

    ``extra_members`` get member rows without being in the upstream file (to provoke a missing result).
    """
    data = jsonl_for(members)
    batch_id = batch_id_for([*members, *extra_members])
    uploaded = client.files.create(file=(f"{batch_id}.jsonl", data, "application/jsonl"), purpose="batch")
    created = client.batches.create(
        input_file_id=uploaded.id,
        endpoint=members[0].endpoint.value,
        completion_window="24h",
        metadata={"batchgpt_batch_id": batch_id},
    )
    now = time.time()
    everyone = [*members, *extra_members]
    with engine.begin() as conn:
        conn.execute(
            insert(batches).values(
                id=batch_id,
                tenant=tenant,
                endpoint=members[0].endpoint.value,
                model=members[0].model,
                status=created.status,
                upstream_batch_id=created.id,
                input_file_id=uploaded.id,
                line_count=len(members),
                byte_count=len(data),
                request_total=0,
                request_completed=0,
                request_failed=0,
                input_tokens=0,
                output_tokens=0,
                total_tokens=0,
                submit_attempts=1,
                created_at=now,
                submitted_at=now,
                cancel_requested=False,
            )
        )
        conn.execute(
            insert(batch_members),
            [
                {
                    "batch_id": batch_id,
                    "request_id": r.request_id,
                    "attempt": r.attempt,
                    "line_no": index,
                    "tenant": tenant,
                    "reply_topic": r.reply_to.topic if r.reply_to else None,
                    "reply_partition": r.reply_to.partition if r.reply_to else None,
                    "request": encode(r).decode(),
                    "outcome": None,
                }
                for index, r in enumerate(everyone)
            ],
        )
        conn.execute(
            insert(requests),
            [
                {
                    "request_id": r.request_id,
                    "tenant": tenant,
                    "endpoint": r.endpoint.value,
                    "model": r.model,
                    "state": "submitted",
                    "batch_id": batch_id,
                    "received_at": now,
                    "updated_at": now,
                }
                for r in everyone
            ],
        )
    return batch_id


def announce(settings: KafkaSettings, batch_id: str, upstream_batch_id: str | None = None) -> None:
    """Publish ``BatchEvent(kind=submitted)`` keyed by the batch id, as the collator does after its commit."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    event = BatchEvent(
        batch_id=batch_id,
        kind=BatchEventKind.SUBMITTED,
        status=BatchStatus.VALIDATING,
        upstream_batch_id=upstream_batch_id,
    )
    producer.produce(settings.topics.batches, encode(event), key=batch_id)
    if producer.flush(10) != 0:
        raise RuntimeError("the submitted event was not delivered")
