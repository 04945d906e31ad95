"""The dashboard's JSON figures on SQLite and PostgreSQL, against values computed by hand.

The module's database is seeded through the store, as the collator and the resolver write it:

* Alice's batch A1 (gpt-4o-mini, 3 requests, reached upstream 100 s ago): the provider reports 1 completed,
  1 failed and 1,000 input / 2,000 output tokens; r1 is answered (1,000 / 2,000 tokens) and r2 failed
  (``invalid_prompt``) 60 s ago; r3 still runs.
* Alice's batch A2 (``my-model``, priced by the deployment's price file at 2.00 / 4.00 USD per 1M tokens
  synchronously and a negotiated 0.50 / 1.00 batched): r4 answered 2 h ago with 1M input / 0.5M output tokens.
* Bob's batch B1 (gpt-4o-mini): r5 answered 2 days ago with 100 / 100 tokens.

gpt-4o-mini costs 0.15 / 0.60 USD per 1M tokens synchronously, half of that batched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from batchgpt.store import batches, results
from batchgpt.store.records import ResultRow
from batchgpt.upstream.records import UpstreamBatch
from collator.planning import plan_window
from ingress.http.auth import tenant_of
from schemas.messages import RequestMessage
from schemas.status import BatchStatus, RequestState
from tests.ingress.conftest import ALICE, BOB, Stack
from tests.ingress.servers import ThreadedIngress

ADMIN = "sk-admin-5555555555"
NOW = time.time()
A, B = tenant_of(ALICE), tenant_of(BOB)
PRICES = {"models": {"my-model": {"input": 2.0, "output": 4.0, "batch_input": 0.5, "batch_output": 1.0}}}


def _batch(engine: Engine, tenant: str, model: str, rids: list[str], *, at: float) -> str:
    """A batch of ``rids`` reserved and submitted at ``at`` as the collator records it; its id."""
    messages = [
        RequestMessage(request_id=r, tenant=tenant, body={"model": model, "messages": []}, received_at=at) for r in rids
    ]
    [plan] = plan_window(messages, max_requests=100, max_bytes=1_000_000).batches
    batches.reserve(engine, [plan], owner="c", now=at, lease_s=10)
    pending = batches.load_pending(engine, plan.batch_id)
    assert pending is not None
    assert batches.mark_submitted(
        engine,
        pending,
        upstream_batch_id=f"batch_up_{plan.batch_id}",
        input_file_id=f"file-in-{plan.batch_id}",
        status=BatchStatus.VALIDATING,
        attempts=1,
        now=at,
    )
    return plan.batch_id


def _answer(engine: Engine, batch_id: str, row: ResultRow) -> None:
    state = RequestState.COMPLETED if row.status == "completed" else RequestState.FAILED
    results.store_answers(
        engine,
        batch_id=batch_id,
        upstream_batch_id=f"batch_up_{batch_id}",
        rows=[row],
        outcomes={row.status: [row.request_id]},
        request_states={state: [row.request_id]},
        now=row.completed_at,
    )


def _ok(rid: str, tenant: str, tokens: tuple[int, int], at: float) -> ResultRow:
    body = {"object": "chat.completion", "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}}
    return ResultRow(rid, tenant, "completed", 200, json.dumps(body), at, f"req_up_{rid}", *tokens)


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> dict[str, str]:
    engine = stack.engine
    a1 = _batch(engine, A, "gpt-4o-mini", ["r1", "r2", "r3"], at=NOW - 100)
    seen = UpstreamBatch(
        id=f"batch_up_{a1}",
        status=BatchStatus.IN_PROGRESS,
        created_at=NOW - 100,
        total=3,
        completed=1,
        failed=1,
        input_tokens=1000,
        output_tokens=2000,
    )
    assert batches.record_poll(engine, batch_id=a1, seen=seen, changed=True, now=NOW - 50, requests_running=True)
    _answer(engine, a1, _ok("r1", A, (1000, 2000), NOW - 60))
    failure = {
        "error": {"message": "The prompt was refused.", "type": "invalid_request_error", "code": "invalid_prompt"}
    }
    _answer(engine, a1, ResultRow("r2", A, "failed", 400, json.dumps(failure), NOW - 60, "req_up_r2"))
    a2 = _batch(engine, A, "my-model", ["r4"], at=NOW - 7300)
    batches.record_tokens(engine, batch_id=a2, input_tokens=1_000_000, output_tokens=500_000)
    _answer(engine, a2, _ok("r4", A, (1_000_000, 500_000), NOW - 7200))
    b1 = _batch(engine, B, "gpt-4o-mini", ["r5"], at=NOW - 2 * 86400)
    _answer(engine, b1, _ok("r5", B, (100, 100), NOW - 2 * 86400))
    return {"a1": a1, "a2": a2, "b1": b1}


@pytest.fixture(scope="module")
def dashboard(
    stack: Stack, seeded: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Any]]:
    """GET a dashboard route of an ingress with the price file and an administrator key, as ``key``."""
    prices = tmp_path_factory.mktemp("prices") / "prices.json"
    prices.write_text(json.dumps(PRICES))
    server = ThreadedIngress(stack.settings(admin_keys=ADMIN, prices_file=str(prices))).start()

    def _get(path: str, key: str | None = ALICE, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.get(f"{server.base_url}{path}", headers=headers, timeout=10)
        assert response.status_code == status, response.text
        return response.json()

    try:
        yield _get
    finally:
        server.stop()


def _money(sync: float, cost: float) -> dict[str, float]:
    return {
        "synchronous_usd": pytest.approx(sync),
        "cost_usd": pytest.approx(cost),
        "saving_usd": pytest.approx(sync - cost),
    }


MINI_HOUR = {"requests": 2, "failed": 1, "input_tokens": 1000, "output_tokens": 2000, **_money(0.00135, 0.000675)}
"""Alice's gpt-4o-mini answers: (1,000 x 0.15 + 2,000 x 0.60) / 1M synchronously, half batched."""
MINE_DAY = {"requests": 1, "failed": 0, "input_tokens": 1_000_000, "output_tokens": 500_000, **_money(4.0, 1.0)}
"""Alice's my-model answer: 1M x 2.00 + 0.5M x 4.00 synchronously, 1M x 0.50 + 0.5M x 1.00 at the negotiated rates."""
BOB_ALL = {"requests": 1, "failed": 0, "input_tokens": 100, "output_tokens": 100, **_money(0.000075, 0.0000375)}


def _by_key(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["key"]: {k: v for k, v in e.items() if k != "key"} for e in entries}


def test_a_key_sees_its_totals_per_window_states_and_errors(dashboard: Callable[..., Any]) -> None:
    summary = dashboard("/v1/dashboard/summary")
    assert (summary["scope"], summary["tenant"]) == ("tenant", A)
    assert summary["requests_by_state"] == {"queued": 0, "submitted": 0, "in_progress": 1, "completed": 2, "failed": 1}
    assert summary["errors_by_code"] == [{"code": "invalid_prompt", "count": 1}]
    totals = summary["totals"]
    assert _by_key(totals["hour"]["by_model"]) == {"gpt-4o-mini": MINI_HOUR}
    assert _by_key(totals["day"]["by_model"]) == {"gpt-4o-mini": MINI_HOUR, "my-model": MINE_DAY}
    assert _by_key(totals["all_time"]["by_model"]) == _by_key(totals["day"]["by_model"])
    assert list(_by_key(totals["all_time"]["by_tenant"])) == [A]
    overall = totals["day"]["overall"]
    assert overall["requests"] == 3 and overall["saving_usd"] == pytest.approx(0.000675 + 3.0)


def test_a_key_sees_its_batches_newest_first_with_progress_eta_and_money(dashboard: Callable[..., Any]) -> None:
    page = dashboard("/v1/dashboard/batches")
    a1, a2 = page["data"]
    assert page["has_more"] is False and (page["first_id"], page["last_id"]) == (a1["id"], a2["id"])
    assert (a1["provider"], a1["endpoint"], a1["model"], a1["status"]) == (
        "openai",
        "/v1/chat/completions",
        "gpt-4o-mini",
        "in_progress",
    )
    assert (a1["total"], a1["completed"], a1["failed"]) == (3, 1, 1)
    elapsed = time.time() - (NOW - 100)
    assert a1["age_seconds"] == pytest.approx(elapsed, abs=5)
    assert a1["eta_seconds"] == pytest.approx(elapsed / 2, abs=5)  # 2 of 3 answered in `elapsed`: 1 more takes half
    assert (a1["input_tokens"], a1["output_tokens"]) == (1000, 2000)
    assert a1 | _money(0.00135, 0.000675) == a1
    assert a2["model"] == "my-model" and a2 | _money(4.0, 1.0) == a2
    assert a2["eta_seconds"] is None  # nothing answered by the provider's count yet
    older = dashboard(f"/v1/dashboard/batches?after={a1['id']}&limit=1")
    assert [b["id"] for b in older["data"]] == [a2["id"]] and older["has_more"] is False


def test_the_batch_detail_shows_its_upstream_ids_and_answers_failed_first(
    dashboard: Callable[..., Any], seeded: dict[str, str]
) -> None:
    detail = dashboard(f"/v1/dashboard/batches/{seeded['a1']}")
    assert detail["upstream"] == {
        "batch_id": f"batch_up_{seeded['a1']}",
        "input_file_id": f"file-in-{seeded['a1']}",
        "output_file_id": None,
        "error_file_id": None,
    }
    failed, done = detail["answers"]
    assert (failed["request_id"], failed["status_code"], failed["error_code"]) == ("r2", 400, "invalid_prompt")
    assert failed["error_message"] == "The prompt was refused." and failed["upstream_request_id"] == "req_up_r2"
    assert (done["request_id"], done["input_tokens"], done["output_tokens"]) == ("r1", 1000, 2000)


def test_tenants_see_only_their_own_and_an_administrator_sees_all(
    dashboard: Callable[..., Any], seeded: dict[str, str]
) -> None:
    bob = dashboard("/v1/dashboard/batches", key=BOB)
    assert [b["id"] for b in bob["data"]] == [seeded["b1"]]
    dashboard(f"/v1/dashboard/batches/{seeded['a1']}", key=BOB, status=404)
    bob_summary = dashboard("/v1/dashboard/summary", key=BOB)
    assert bob_summary["errors_by_code"] == [] and _by_key(bob_summary["totals"]["day"]["by_tenant"]) == {}
    assert _by_key(bob_summary["totals"]["all_time"]["by_tenant"]) == {B: BOB_ALL}
    dashboard("/v1/dashboard/summary", key=None, status=401)
    dashboard("/v1/dashboard/summary", key="sk-unknown", status=401)

    admin = dashboard("/v1/dashboard/summary", key=ADMIN)
    assert (admin["scope"], admin["tenant"]) == ("all", None)
    everyone = _by_key(admin["totals"]["all_time"]["by_tenant"])
    assert set(everyone) == {A, B} and everyone[B] == BOB_ALL
    assert admin["requests_by_state"]["completed"] == 3
    listed = [b["id"] for b in dashboard("/v1/dashboard/batches", key=ADMIN)["data"]]
    assert listed == [seeded["a1"], seeded["a2"], seeded["b1"]]  # every tenant's, newest first
    assert dashboard(f"/v1/dashboard/batches/{seeded['a1']}", key=ADMIN)["batch"]["id"] == seeded["a1"]


def test_the_page_and_its_files_are_served_from_the_package(dashboard: Callable[..., Any], stack: Stack) -> None:
    page = httpx.get(f"{stack.base_url}/dashboard", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = httpx.get(f"{stack.base_url}/dashboard/{name}", timeout=10)
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert f"/dashboard/{name}" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from elsewhere: it works offline
