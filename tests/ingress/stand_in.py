"""A pipeline stand-in for the ingress tests: does what the collator and resolver do, on the real broker.

It consumes the requests topic, records every message, marks each request ``submitted`` as the
collator would (through the store, with the batch id the collator's planning gives a one-request
batch), and (unless the prompt says ``[hold]``) answers it as the resolver does: a ``ReplyMessage``
produced to ``reply_to`` (the pinned partition when set), awaited, then the ``results`` row and the
request's final state through the store's ``store_answers``. Answers come from ``simulator.answers``
for every endpoint (``simulator.message_answers`` for Anthropic's messages: the simulator's own answers)
(deterministic per prompt).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from confluent_kafka import Consumer, Producer
from sqlalchemy import Engine

from batchgpt.simulator.answers import answer
from batchgpt.simulator.message_answers import message_answer
from batchgpt.store.records import ResultRow
from batchgpt.store.requests import move_states
from batchgpt.store.results import store_answers
from collator.planning import batch_id_for
from schemas.codec import decode, encode
from schemas.messages import ReplyMessage, RequestMessage
from schemas.status import Endpoint, ReplyStatus, RequestState
from schemas.topics import TopicNames
from tests.support.waiting import wait_for

HOLD_MARKER = "[hold]"
T = TypeVar("T")


def upstream_id() -> str:
    """A provider request id, as OpenAI puts in each batch line that ran (``response.request_id``)."""
    return uuid.uuid4().hex


def _batch_id_of(request_id: str, attempt: int = 0) -> str:
    """The id the collator gives a batch of this one request."""
    return batch_id_for([(request_id, attempt)])


def _batch_id(message: RequestMessage) -> str:
    return _batch_id_of(message.request_id, message.attempt)


def stand_in_answer(message: RequestMessage) -> tuple[int, dict[str, object]]:
    """(status, body) the pipeline stand-in answers ``message`` with: what the simulator's batch line would carry."""
    if message.endpoint is Endpoint.MESSAGES:
        result = message_answer(message.body, message_id="msg_" + uuid.uuid4().hex[:24], service_tier="batch")
        return result.status_code, dict(result.body)
    completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
    result = answer(message.endpoint.value, message.body, completion_id=completion_id, created=int(time.time()))
    return result.status_code, dict(result.body)


class PipelineStandIn:
    """Collator + resolver stand-in running in a thread."""

    def __init__(self, bootstrap_servers: str, topics: TopicNames, engine: Engine) -> None:
        self._topics = topics
        self._engine = engine
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": f"stand-in-{uuid.uuid4().hex[:10]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "log_level": 3,
            }
        )
        self._producer = Producer(
            {"bootstrap.servers": bootstrap_servers, "acks": "all", "enable.idempotence": True, "log_level": 3}
        )
        self._lock = threading.Lock()
        self._received: list[RequestMessage] = []
        self._answered: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pipeline-stand-in", daemon=True)
        self.hold: Callable[[RequestMessage], bool] = lambda message: HOLD_MARKER in str(message.body)

    def start(self) -> None:
        self._consumer.subscribe([self._topics.requests])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()
        self._producer.flush(5)

    # ----------------------------------------------------------------- what it saw
    def received(self, predicate: Callable[[RequestMessage], bool] = lambda m: True) -> list[RequestMessage]:
        """Every request message consumed so far that matches ``predicate``."""
        with self._lock:
            return [m for m in self._received if predicate(m)]

    def with_text(self, text: str) -> list[RequestMessage]:
        """The consumed requests whose body mentions ``text``."""
        return self.received(lambda m: text in str(m.body))

    def message(self, request_id: str) -> RequestMessage | None:
        found = self.received(lambda m: m.request_id == request_id)
        return found[0] if found else None

    # ----------------------------------------------------------------- acting as the pipeline
    def _run(self) -> None:
        while not self._stop.is_set():
            for raw in self._consumer.consume(100, 0.1):
                if raw.error():
                    continue
                message = decode(RequestMessage, raw.value())
                with self._lock:
                    self._received.append(message)
                with self._engine.begin() as conn:
                    move_states(
                        conn, [message.request_id], RequestState.SUBMITTED, now=time.time(), batch_id=_batch_id(message)
                    )
                if not self.hold(message):
                    self.answer(message)

    def answer(
        self,
        message: RequestMessage,
        status_code: int | None = None,
        body: dict | None = None,
        upstream_request_id: str | None = "",
    ) -> ReplyMessage:
        """Reply to ``message`` as the resolver would (simulated answer unless given), then store the result.

        ``upstream_request_id``: the provider's request id of the line ("": a fresh one, as every line that
        ran has; None: no line ran, as for ``batch_expired``).
        """
        if message.request_id in self._answered:
            raise AssertionError(f"{message.request_id} answered twice")
        if body is None:
            status_code, body = stand_in_answer(message)
        assert status_code is not None
        ok = 200 <= status_code < 300
        reply = ReplyMessage(
            request_id=message.request_id,
            status=ReplyStatus.COMPLETED if ok else ReplyStatus.FAILED,
            status_code=status_code,
            body=body,
            batch_id=_batch_id(message),
            upstream_batch_id="batch_standin",
            tenant=message.tenant,
            upstream_request_id=upstream_request_id if upstream_request_id != "" else upstream_id(),
        )
        self.publish(reply, message)
        self.store(reply, message.tenant)
        self._answered.add(message.request_id)
        return reply

    def publish(self, reply: ReplyMessage, message: RequestMessage) -> None:
        """Produce the reply where ``reply_to`` says and wait for delivery."""
        target = message.reply_to
        topic = target.topic if target else self._topics.replies
        kwargs: dict[str, object] = {"key": reply.request_id, "value": encode(reply)}
        if target is not None and target.partition is not None:
            kwargs["partition"] = target.partition
        errors: list[object] = []
        self._producer.produce(topic, on_delivery=lambda err, _msg: errors.append(err), **kwargs)
        self._producer.flush(10)
        assert errors == [None], f"reply delivery failed: {errors}"

    def store(self, reply: ReplyMessage, tenant: str) -> None:
        """Store the ``results`` row (idempotent) and the request's final state, as the resolver's reply sink does."""
        final = RequestState.COMPLETED if reply.status is ReplyStatus.COMPLETED else RequestState.FAILED
        row = ResultRow(
            reply.request_id,
            tenant,
            reply.status.value,
            reply.status_code,
            json.dumps(reply.body),
            reply.completed_at,
            reply.upstream_request_id,
        )
        store_answers(
            self._engine,
            batch_id=reply.batch_id or _batch_id_of(reply.request_id),
            upstream_batch_id=reply.upstream_batch_id,
            rows=[row],
            outcomes={reply.status.value: [reply.request_id]},
            request_states={final: [reply.request_id]},
            now=time.time(),
        )

    def answer_during(
        self, call: Callable[[], T], text: str, status_code: int | None = None, body: dict | None = None
    ) -> T:
        """Run ``call`` (which sends a ``[hold]`` request mentioning ``text``) in a thread, answer that request
        (simulated answer unless given) once it is on the topic, and return what ``call`` returned (or raise
        what it raised)."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(call)
            found = wait_for(
                lambda: self.with_text(text) or running.done(), timeout_s=20, what=f"{text!r} on the topic"
            )
            if found is not True:
                [message] = found
                self.answer(message, status_code=status_code, body=body)
            return running.result(timeout=60)

    def release(self, request_id: str) -> ReplyMessage:
        """Answer a held request now."""
        message = self.message(request_id)
        assert message is not None, f"{request_id} was never produced"
        return self.answer(message)
