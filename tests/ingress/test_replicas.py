"""Several ingress replicas on one broker: each answers its own callers; a caller may come back through another."""

from __future__ import annotations

import asyncio

import httpx

from batchgpt.simulator.answers import expected_chat_content
from tests.ingress.conftest import ALICE, Stack
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}
RETRY = {"x-stainless-retry-count": "1"}  # what the SDK sends on its first retry


def _chat(text: str) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


async def test_each_replica_answers_its_own_callers(stack: Stack, start_ingress, prompt) -> None:
    other = start_ingress()
    texts = [prompt(f"replica{i}") for i in range(6)]
    clients = [stack.async_client(), stack.async_client(base_url=other.base_url)]
    answers = await asyncio.gather(
        *(
            clients[i % 2].chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": t}])
            for i, t in enumerate(texts)
        )
    )
    for text, completion in zip(texts, answers, strict=True):
        assert completion.choices[0].message.content == expected_chat_content(_chat(text))
    accepted = [
        s.service.metrics.registry.get_sample_value(
            "batchgpt_ingress_requests_accepted_total", {"endpoint": "/v1/chat/completions"}
        )
        or 0
        for s in (stack.ingress, other)
    ]
    assert all(count >= 3 for count in accepted)
    for client in clients:
        await client.close()


def test_resend_through_another_replica_attaches_and_gets_the_result(stack: Stack, start_ingress, prompt) -> None:
    other = start_ingress()
    text = prompt("[hold] cross-replica")
    with httpx.Client(headers=AUTH, timeout=30) as http:
        first = http.post(
            f"{stack.base_url}/v1/chat/completions", json=_chat(text), headers={"Prefer": "respond-async"}
        )
        request_id = first.json()["id"]
        [message] = wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15)
        # the caller's SDK retries through the other replica with the same body and is held there
        client = stack.client(base_url=other.base_url)
        import threading

        box: dict[str, object] = {}
        waiter = threading.Thread(
            target=lambda: box.setdefault(
                "c",
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}], extra_headers=RETRY
                ),
            )
        )
        waiter.start()
        wait_for(lambda: len(other.service.correlator) == 1, timeout_s=10, what="held on the other replica")
        stack.stand_in.answer(message)
        waiter.join(timeout=20)
    completion = box["c"]
    assert completion.choices[0].message.content == expected_chat_content(_chat(text))  # type: ignore[attr-defined]
    assert len(stack.stand_in.with_text(text)) == 1 and message.request_id == request_id


def test_polling_through_another_replica(stack: Stack, start_ingress, prompt) -> None:
    other = start_ingress()
    text = prompt("[hold] poll-other")
    with httpx.Client(headers=AUTH, timeout=30) as http:
        request_id = http.post(
            f"{stack.base_url}/v1/chat/completions", json=_chat(text), headers={"Prefer": "respond-async"}
        ).json()["id"]
        assert http.get(f"{other.base_url}/v1/chat/completions/{request_id}").status_code == 202
        stack.stand_in.release(wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15)[0].request_id)
        done = http.get(f"{other.base_url}/v1/chat/completions/{request_id}")
    assert done.status_code == 200
    assert done.json()["choices"][0]["message"]["content"] == expected_chat_content(_chat(text))


def test_pinned_reply_partitions_and_a_reply_published_to_another_replica(stack: Stack, start_ingress, prompt) -> None:
    zero, one = start_ingress(reply_partition=0), start_ingress(reply_partition=1)
    text = prompt("[hold] pinned")
    with httpx.Client(headers=AUTH, timeout=30) as http:
        http.post(f"{zero.base_url}/v1/chat/completions", json=_chat(text), headers={"Prefer": "respond-async"})
        [message] = wait_for(lambda: stack.stand_in.with_text(text), timeout_s=15)
        assert message.reply_to is not None and message.reply_to.partition == 0
        # held on replica "one", which never reads partition 0: the result must still reach it (results table)
        import threading

        box: dict[str, httpx.Response] = {}
        waiter = threading.Thread(
            target=lambda: box.setdefault(
                "r",
                http.post(
                    f"{one.base_url}/v1/chat/completions", json=_chat(text), headers={"Prefer": "wait=15", **RETRY}
                ),
            )
        )
        waiter.start()
        wait_for(lambda: len(one.service.correlator) == 1, timeout_s=10, what="held on replica one")
        stack.stand_in.answer(message)
        waiter.join(timeout=20)
    assert box["r"].status_code == 200
    assert box["r"].json()["choices"][0]["message"]["content"] == expected_chat_content(_chat(text))
    own = prompt("pinned-own")
    with httpx.Client(headers=AUTH, timeout=30) as http:
        response = http.post(f"{one.base_url}/v1/chat/completions", json=_chat(own))
    assert response.status_code == 200
    [own_message] = stack.stand_in.with_text(own)
    assert own_message.reply_to is not None and own_message.reply_to.partition == 1


async def test_identical_first_sends_through_two_replicas_at_once_make_one_request(
    stack: Stack, start_ingress, prompt
) -> None:
    """The lookup and the insert run under one database lock per fingerprint, across replicas (SDK retries)."""
    other = start_ingress()
    texts = [prompt(f"[hold] twin{i}") for i in range(20)]  # [hold]: the stand-in leaves them pending
    async with httpx.AsyncClient(headers={**AUTH, "Prefer": "respond-async", **RETRY}, timeout=30) as http:
        sends = [
            http.post(f"{base}/v1/chat/completions", json=_chat(text))
            for text in texts
            for base in (stack.base_url, other.base_url)
        ]
        answers = await asyncio.gather(*sends)
    assert {a.status_code for a in answers} == {202}
    for index, text in enumerate(texts):
        pair = answers[2 * index : 2 * index + 2]
        assert pair[0].json()["id"] == pair[1].json()["id"], text
        wait_for(lambda text=text: stack.stand_in.with_text(text), timeout_s=15, what=f"the request of {text!r}")
    for text in texts:
        assert len(stack.stand_in.with_text(text)) == 1
