"""The batch views: list with paging, retrieve, cancel, get-batch-status, and tenant isolation."""

from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest
from sqlalchemy import select

from batchgpt.store.tables import batches
from ingress.http.auth import tenant_of
from tests.ingress.conftest import ALICE, BOB, Stack
from tests.support.waiting import wait_for

ALICE_AUTH = {"Authorization": f"Bearer {ALICE}"}
BOB_AUTH = {"Authorization": f"Bearer {BOB}"}


def insert_batch(
    stack: Stack, key: str, *, status: str = "in_progress", created_at: float | None = None, **extra: object
) -> str:
    """A ``batches`` row as the collator writes it."""
    batch_id = "bg_" + uuid.uuid4().hex[:24]
    row = {
        "id": batch_id,
        "upstream_batch_id": "batch_" + uuid.uuid4().hex[:20],
        "tenant": tenant_of(key),
        "endpoint": "/v1/chat/completions",
        "model": "gpt-4o-mini",
        "status": status,
        "input_file_id": "file-" + uuid.uuid4().hex[:10],
        "line_count": 3,
        "byte_count": 300,
        "request_total": 3,
        "request_completed": 1,
        "request_failed": 0,
        "input_tokens": 30,
        "output_tokens": 12,
        "total_tokens": 42,
        "submit_attempts": 1,
        "created_at": created_at or time.time(),
        "submitted_at": (created_at or time.time()) + 1,
        "cancel_requested": False,
    }
    row.update(extra)
    with stack.engine.begin() as conn:
        conn.execute(batches.insert().values(**row))
    return batch_id


def test_retrieve_renders_openai_batch_shape_with_every_key(stack: Stack) -> None:
    batch_id = insert_batch(stack, ALICE)
    batch = stack.client().batches.retrieve(batch_id)
    assert batch.id == batch_id and batch.object == "batch" and batch.status == "in_progress"
    assert batch.request_counts is not None and batch.request_counts.total == 3
    assert batch.usage is not None and batch.usage.total_tokens == 42
    with httpx.Client(base_url=stack.base_url, headers=ALICE_AUTH, timeout=30) as http:
        raw = http.get(f"/v1/batches/{batch_id}").json()
    expected_keys = {
        "id", "object", "endpoint", "model", "errors", "input_file_id", "completion_window", "status",
        "output_file_id", "error_file_id", "created_at", "in_progress_at", "expires_at", "finalizing_at",
        "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at", "request_counts",
        "metadata", "usage",
    }  # fmt: skip
    assert expected_keys <= set(raw)
    assert raw["completion_window"] == "24h" and raw["metadata"]["upstream_batch_id"].startswith("batch_")
    # 30 input + 12 output tokens of gpt-4o-mini: half the synchronous price saved
    assert float(raw["metadata"]["estimated_saving_usd"]) == pytest.approx((30 * 0.15 + 12 * 0.60) / 2e6, abs=1e-6)


def test_list_pages_newest_first_with_after_and_has_more(stack: Stack) -> None:
    key = "sk-pager-" + uuid.uuid4().hex[:8]
    base = time.time() - 1000
    ids = [insert_batch(stack, key, created_at=base + i) for i in range(5)]
    newest_first = list(reversed(ids))
    client = _client_for(stack, key)  # a server that knows this key (the module's knows ALICE and BOB)
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == newest_first[:2] and first.has_more
    second = client.batches.list(limit=2, after=first.data[-1].id)
    assert [b.id for b in second.data] == newest_first[2:4] and second.has_more
    assert [b.id for b in client.batches.list(limit=2)] == newest_first  # SDK auto-pagination
    raw = http_get(stack, key, "/v1/batches", params={"limit": 10})
    assert raw["object"] == "list" and raw["has_more"] is False
    assert raw["first_id"] == newest_first[0] and raw["last_id"] == newest_first[-1]


def test_an_unknown_after_cursor_is_a_400_not_the_first_page(stack: Stack) -> None:
    mine, theirs = insert_batch(stack, ALICE), insert_batch(stack, BOB)
    client = stack.client()
    for cursor in ("bg_never_made", theirs):  # another caller's batch is unknown to this one
        with pytest.raises(openai.BadRequestError) as caught:
            client.batches.list(after=cursor)
        assert caught.value.param == "after" and cursor in caught.value.message
        assert caught.value.response.headers["x-should-retry"] == "false"
    assert mine not in {b.id for b in client.batches.list(after=mine, limit=100)}


def test_views_set_finalizing_at(stack: Stack) -> None:
    now = time.time()
    finalizing = insert_batch(stack, ALICE, status="finalizing", created_at=now - 60, status_changed_at=now)
    completed = insert_batch(stack, ALICE, status="completed", created_at=now - 60, terminal_at=now)
    client = stack.client()
    assert client.batches.retrieve(finalizing).finalizing_at == int(now)
    done = client.batches.retrieve(completed)
    assert done.finalizing_at is not None and done.in_progress_at <= done.finalizing_at <= done.completed_at


_servers: dict[str, object] = {}


def _client_for(stack: Stack, key: str) -> openai.OpenAI:
    return stack.client(key=key, base_url=_server_with_key(stack, key))


def http_get(stack: Stack, key: str, path: str, **kwargs: object) -> dict:
    with httpx.Client(base_url=_server_with_key(stack, key), headers={"Authorization": f"Bearer {key}"}) as http:
        response = http.get(path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return response.json()


def _server_with_key(stack: Stack, key: str) -> str:
    from tests.ingress.servers import ThreadedIngress

    if key in (ALICE, BOB):
        return stack.base_url
    server = _servers.get(f"{stack.backend}:{key}")
    if server is None:
        server = ThreadedIngress(stack.settings(api_keys=f"{ALICE},{BOB},{key}")).start()
        stack.extra.append(server)
        _servers[f"{stack.backend}:{key}"] = server
    return server.base_url  # type: ignore[attr-defined]


def test_callers_never_see_each_others_batches(stack: Stack) -> None:
    mine = insert_batch(stack, ALICE)
    theirs = insert_batch(stack, BOB)
    alice, bob = stack.client(), stack.client(key=BOB)
    assert mine in {b.id for b in alice.batches.list(limit=100)}
    assert theirs not in {b.id for b in alice.batches.list(limit=100)}
    with pytest.raises(openai.NotFoundError):
        alice.batches.retrieve(theirs)
    with pytest.raises(openai.NotFoundError):
        bob.batches.cancel(mine)
    with httpx.Client(base_url=stack.base_url, headers=BOB_AUTH, timeout=30) as http:
        response = http.get("/get-batch-status", params={"batch_id": mine})
        assert response.status_code == 404 and response.json()["error"]["code"] == "batch_not_found"
    with stack.engine.connect() as conn:
        assert conn.execute(select(batches.c.cancel_requested).where(batches.c.id == mine)).scalar_one() is False


def test_callers_never_see_each_others_requests(stack: Stack, prompt) -> None:
    text = prompt("private")
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        mine = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
            headers={**ALICE_AUTH, "Prefer": "wait=10"},
        )
        assert mine.status_code == 200
        # bob sending the very same body gets his own request, not alice's stored result
        bobs = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
            headers={**BOB_AUTH, "Prefer": "respond-async"},
        )
        assert bobs.status_code in (200, 202)
        assert (
            http.get(f"/v1/chat/completions/{mine.headers['x-batchgpt-request-id']}", headers=BOB_AUTH).status_code
            == 404
        )
    produced = wait_for(lambda: len(stack.stand_in.with_text(text)) == 2 and stack.stand_in.with_text(text), 15)
    assert {m.tenant for m in produced} == {tenant_of(ALICE), tenant_of(BOB)}


def test_cancel_marks_the_batch_and_shows_cancelling(stack: Stack) -> None:
    batch_id = insert_batch(stack, ALICE)
    before = time.time()
    batch = stack.client().batches.cancel(batch_id)
    assert batch.status == "cancelling" and batch.cancelling_at is not None
    with stack.engine.connect() as conn:
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().one()
    assert row["cancel_requested"] is True and row["next_poll_at"] >= before - 1
    assert stack.client().batches.retrieve(batch_id).status == "cancelling"


@pytest.mark.parametrize("status", ["completed", "failed", "expired"])
def test_cancel_of_a_finished_batch_is_409(stack: Stack, status: str) -> None:
    batch_id = insert_batch(stack, ALICE, status=status, terminal_at=time.time())
    with httpx.Client(base_url=stack.base_url, headers=ALICE_AUTH, timeout=30) as http:
        response = http.post(f"/v1/batches/{batch_id}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == f"Cannot cancel a batch with status '{status}'."


def test_cancel_of_a_cancelled_batch_returns_it_unchanged(stack: Stack) -> None:
    batch_id = insert_batch(stack, ALICE, status="cancelled", terminal_at=time.time())
    assert stack.client().batches.cancel(batch_id).status == "cancelled"


def test_get_batch_status_for_original_batch_gpt_users(stack: Stack) -> None:
    batch_id = insert_batch(stack, ALICE, status="pending")
    with httpx.Client(base_url=stack.base_url, headers=ALICE_AUTH, timeout=30) as http:
        body = http.get("/get-batch-status", params={"batch_id": batch_id}).json()
        unknown = http.get("/get-batch-status", params={"batch_id": "bg_unknown"})
    assert body["batch_id"] == batch_id and body["status"] == "validating"
    assert body["request_counts"] == {"total": 3, "completed": 1, "failed": 0}
    assert unknown.status_code == 404
