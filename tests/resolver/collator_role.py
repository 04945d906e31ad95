"""Plays the collator's part of the contract for the resolver's tests (not a mock: the same writes).

It builds the JSONL with the collator's own code (``custom_id`` = request id, ``stream`` removed),
uploads it and creates the batch on the simulator with the official SDK, then records it through the
store exactly as the collator does: ``batches.reserve`` (the ``batches`` row and one ``batch_members``
row per line, ``line_no`` 0-based, the batch id from ``collator.planning.batch_id_for``) and
``batches.mark_submitted`` (the upstream batch, and the ``requests`` rows in state ``submitted``);
finally (optionally) publishes ``BatchEvent(kind=submitted)`` keyed by the batch id.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from confluent_kafka import Producer
from openai import OpenAI
from sqlalchemy import Engine

from batchgpt.settings import KafkaSettings
from batchgpt.store import batches
from collator.lines import jsonl_line
from collator.planning import BatchPlan, PlannedLine, batch_id_for
from schemas import BatchEvent, BatchEventKind, BatchStatus, RequestMessage, encode
from schemas.submission import SubmissionFailure

__all__ = ["announce", "give_up_as_collator", "jsonl_for", "make_request", "submit_as_collator"]


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
    """The batch input file, one line per request in order (the collator's own lines)."""
    return b"".join(jsonl_line(request) for request in members)


def _plan(members: Sequence[RequestMessage], tenant: str) -> BatchPlan:
    """The collator's plan of one batch of ``members`` (its batch id from ``collator.planning``)."""
    everyone = [m if m.tenant == tenant else m.model_copy(update={"tenant": tenant}) for m in members]
    return BatchPlan(
        batch_id=batch_id_for((m.request_id, m.attempt) for m in everyone),
        tenant=tenant,
        endpoint=everyone[0].endpoint.value,
        model=everyone[0].model,
        lines=tuple(PlannedLine(request=m, data=jsonl_line(m)) for m in everyone),
    )


def give_up_as_collator(
    *, engine: Engine, members: Sequence[RequestMessage], failure: SubmissionFailure, tenant: str = "default"
) -> str:
    """Reserve a batch and record that its submission failed, as the collator does; return our batch id."""
    plan = _plan(members, tenant)
    now = time.time()
    batches.reserve(engine, [plan], owner="collator-role", now=now, lease_s=60.0)
    pending = batches.load_pending(engine, plan.batch_id)
    assert pending is not None
    assert batches.mark_submit_failed(engine, pending, errors=[failure.to_error()], attempts=3, now=now)
    return plan.batch_id


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
    plan = _plan([*members, *extra_members], tenant)
    data = jsonl_for(members)
    uploaded = client.files.create(file=(f"{plan.batch_id}.jsonl", data, "application/jsonl"), purpose="batch")
    created = client.batches.create(
        input_file_id=uploaded.id,
        endpoint=plan.endpoint,  # type: ignore[arg-type]
        completion_window="24h",
        metadata={"batchgpt_batch_id": plan.batch_id},
    )
    now = time.time()
    batches.reserve(engine, [plan], owner="collator-role", now=now, lease_s=60.0)
    pending = batches.load_pending(engine, plan.batch_id)
    assert pending is not None
    recorded = batches.mark_submitted(
        engine,
        pending,
        upstream_batch_id=created.id,
        input_file_id=uploaded.id,
        status=BatchStatus(created.status),
        attempts=1,
        now=now,
    )
    assert recorded, f"batch {plan.batch_id} was not pending any more"
    return plan.batch_id


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
