"""The dashboard page in a real headless browser (the system's Chromium), on the whole pipeline and the simulator.

After a run of calls with one key, the page shows every batch of that key with its progress, a batch made
while the page is open appears without a reload, a second key sees none of the first key's batches, and the
browser's console shows no error. The run leaves a screenshot of the page in ``docs/dashboard.png``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from batchgpt.devstack.stack import Stack
from tests.support.browser import headless_chromium
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

FIRST, SECOND = "sk-dash-first-000111", "sk-dash-second-000222"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def _root(stack: Stack) -> str:
    """The ingress's address (the stack's ``base_url`` is the SDK's, ending in ``/v1``)."""
    return stack.base_url.removesuffix("/v1")


def _batches(stack: Stack, key: str) -> list[dict[str, Any]]:
    """The key's batches as the JSON API lists them."""
    response = httpx.get(
        f"{_root(stack)}/v1/dashboard/batches?limit=100", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    response.raise_for_status()
    return list(response.json()["data"])


def _rows(driver: WebDriver) -> dict[str, str]:
    """Batch id -> the progress text (completed/failed/total) of each batch row on the page (read in one go: the
    page redraws its rows every 2 s)."""
    found = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#batches tbody tr[data-batch-id]')]"
        ".map((tr) => [tr.dataset.batchId, tr.querySelector('.progress-text').textContent]));"
    )
    return dict(found)


def _text(driver: WebDriver, selector: str) -> str:
    """The text of the first element ``selector`` matches ("" when none does)."""
    return str(
        driver.execute_script("const n = document.querySelector(arguments[0]); return n ? n.innerText : '';", selector)
    )


def _enter_key(driver: WebDriver, key: str) -> None:
    wait_for(lambda: driver.find_element(By.ID, "key-input").is_displayed(), 30, what="the key form")
    driver.find_element(By.ID, "key-input").send_keys(key)
    driver.find_element(By.ID, "key-save").click()


def _errors_in_console(driver: WebDriver) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


async def _run_calls(stack: Stack, key: str, models: tuple[str, ...], per_model: int) -> None:
    """``per_model`` calls on each model, and one more on the first that the provider refuses (400)."""
    client = AsyncOpenAI(base_url=stack.base_url, api_key=key, max_retries=0, timeout=60)
    calls = [
        client.chat.completions.create(model=m, messages=[{"role": "user", "content": f"dashboard {m} {i}"}])
        for m in models
        for i in range(per_model)
    ]
    refused = client.chat.completions.create(
        model=models[0], messages=[{"role": "user", "content": "dashboard [sim:error=400:invalid_prompt]"}]
    )
    outcomes = await asyncio.gather(*calls, refused, return_exceptions=True)
    await client.close()
    assert all(not isinstance(o, BaseException) for o in outcomes[:-1]), outcomes
    assert isinstance(outcomes[-1], openai.BadRequestError) and outcomes[-1].code == "invalid_prompt"


def test_the_page_shows_each_batch_live_per_key_without_console_errors(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(window_ms=300, extra_env={"BATCHGPT_API_KEYS": f"{FIRST},{SECOND}"})
    asyncio.run(_run_calls(stack, FIRST, ("gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini"), per_model=4))
    expected = {b["id"]: f"{b['completed']}/{b['failed']}/{b['total']}" for b in _batches(stack, FIRST)}
    assert len(expected) >= 3  # one batch per model at least
    done = [tuple(int(n) for n in p.split("/")) for p in expected.values()]
    assert all(c + f == t for c, f, t in done) and sum(f for _, f, _ in done) == 1  # every line answered, one refused

    with headless_chromium() as driver:
        driver.get(f"{_root(stack)}/dashboard")
        _enter_key(driver, FIRST)
        # every batch of the key, with the progress the API reports
        wait_for(lambda: _rows(driver) == expected, 60, what=f"the batches {expected} on the page")
        bars = driver.execute_script(
            "return [...document.querySelectorAll('#batches tbody .bar')].map((b) => b.getAttribute('aria-valuenow'));"
        )
        assert sorted(bars) == sorted(p.split("/")[2] for p in expected.values())  # every batch's bar is full
        wait_for(lambda: _text(driver, '#states [data-state="completed"] .value') == "12", 60, what="12 completed")
        assert _text(driver, '#states [data-state="failed"] .value') == "1"
        assert "invalid_prompt\t1" in _text(driver, "#errors")
        assert "gpt-4o-mini" in _text(driver, "#by-model")
        upstream_key = stack.env["OPENAI_API_KEY"]
        assert upstream_key not in driver.page_source and FIRST not in driver.page_source  # no key is ever shown

        # a new batch appears without a reload (the marker set on this document survives)
        driver.execute_script("window.__sameDocument = true;")
        client = OpenAI(base_url=stack.base_url, api_key=FIRST, max_retries=0, timeout=60)
        call = threading.Thread(
            target=lambda: client.chat.completions.create(
                model="gpt-4.1-nano", messages=[{"role": "user", "content": "dashboard: a batch made while watching"}]
            )
        )
        call.start()
        new_ids = wait_for(lambda: {b["id"] for b in _batches(stack, FIRST)} - set(expected), 60, what="a new batch")
        [new_id] = new_ids
        wait_for(lambda: _rows(driver).get(new_id) == "1/0/1", 60, what="the new batch, done, on the page")
        call.join(30)
        assert driver.execute_script("return window.__sameDocument === true;")

        # the detail view: the batch's upstream id and its answers, the refused one first
        first_id = next(b for b, progress in expected.items() if progress.split("/")[1] == "1")  # with the refusal
        driver.execute_script("document.querySelector(`tr[data-batch-id='${arguments[0]}']`).click();", first_id)
        wait_for(lambda: first_id in _text(driver, "#detail"), 30, what="the detail view")
        [listed] = [b for b in _batches(stack, FIRST) if b["id"] == first_id]
        assert listed["upstream_batch_id"] and listed["upstream_batch_id"] in _text(driver, "#detail")
        answers = driver.execute_script(
            "return document.querySelectorAll('#detail-answers tr[data-request-id]').length;"
        )
        assert answers == 5 and "invalid_prompt" in _text(driver, "#detail-answers")

        SCREENSHOT.parent.mkdir(exist_ok=True)
        driver.set_window_size(1600, int(driver.execute_script("return document.body.scrollHeight;")) + 160)
        assert driver.save_screenshot(str(SCREENSHOT))

        # the key is kept: a reload shows the batches without asking again
        driver.refresh()
        wait_for(lambda: new_id in _rows(driver), 60, what="the batches after a reload")
        assert not driver.find_element(By.ID, "key-form").is_displayed()
        driver.execute_script("document.querySelector(`tr[data-batch-id='${arguments[0]}']`).click();", new_id)
        wait_for(lambda: new_id in _text(driver, "#detail"), 30, what="the new batch's detail view")

        # a second key sees none of the first key's batches (nor the detail still open for the first)
        driver.find_element(By.ID, "change-key").click()
        _enter_key(driver, SECOND)
        wait_for(lambda: "no batches yet" in _text(driver, "#batches"), 60, what="an empty list")
        assert not _rows(driver) and not any(b in driver.page_source for b in [*expected, new_id])
        assert _text(driver, "#scope").startswith("tenant t_")

        assert _errors_in_console(driver) == []
