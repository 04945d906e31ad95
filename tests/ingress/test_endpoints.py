"""Responses, completions and moderations through the official SDK (sync and async), a real ingress, broker
and database: each body passed through untouched, each answered with exactly the object its line carried."""

from __future__ import annotations

import httpx
import openai
import pytest
from sqlalchemy import select

from batchgpt.simulator.answers import expected_completion_text, expected_response_text
from batchgpt.simulator.request_checks import DEFAULT_MODERATION_MODEL
from batchgpt.store.tables import requests
from tests.ingress.conftest import ALICE, Stack
from tests.support.waiting import wait_for

AUTH = {"Authorization": f"Bearer {ALICE}"}


def test_responses_create_sync(stack: Stack, prompt) -> None:
    text = prompt("responses")
    response = stack.client().responses.create(model="gpt-4o-mini", input=text, temperature=0, extra_body={"x_k": 1})
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == expected_response_text({"input": text})
    [produced] = stack.stand_in.with_text(text)
    assert produced.endpoint.value == "/v1/responses"
    assert produced.body == {"model": "gpt-4o-mini", "input": text, "temperature": 0, "x_k": 1}


async def test_responses_create_async_with_input_items(stack: Stack, prompt) -> None:
    text = prompt("aresponses")
    client = stack.async_client()
    items = [{"role": "user", "content": [{"type": "input_text", "text": text}]}]
    response = await client.responses.create(model="gpt-4.1-mini", input=items, instructions="Be brief.")
    await client.close()
    assert response.output_text == expected_response_text({"input": items})
    assert response.model == "gpt-4.1-mini" and response.instructions == "Be brief."


def test_completions_create_sync_and_one_choice_per_prompt(stack: Stack, prompt) -> None:
    first, second = prompt("cmpl-a"), prompt("cmpl-b")
    completion = stack.client().completions.create(model="gpt-3.5-turbo-instruct", prompt=[first, second])
    assert completion.object == "text_completion"
    sent = {"prompt": [first, second]}
    assert [c.text for c in completion.choices] == [expected_completion_text(sent, index) for index in (0, 1)]
    [produced] = stack.stand_in.with_text(first)
    assert produced.endpoint.value == "/v1/completions"


async def test_completions_create_async(stack: Stack, prompt) -> None:
    text = prompt("acmpl")
    client = stack.async_client()
    completion = await client.completions.create(model="gpt-3.5-turbo-instruct", prompt=text, max_tokens=5)
    await client.close()
    assert completion.choices[0].text == expected_completion_text({"prompt": text, "max_tokens": 5})


def test_moderations_without_model_go_upstream_without_one(stack: Stack, prompt) -> None:
    text = prompt("moderate")
    moderation = stack.client().moderations.create(input=text)
    assert moderation.model == DEFAULT_MODERATION_MODEL and len(moderation.results) == 1
    assert moderation.results[0].flagged is False
    [produced] = stack.stand_in.with_text(text)
    assert produced.endpoint.value == "/v1/moderations"
    assert produced.body == {"input": text}  # nothing filled in: the upstream's default model answers
    with stack.engine.connect() as conn:
        model = conn.execute(select(requests.c.model).where(requests.c.request_id == produced.request_id)).scalar()
    assert model == ""  # batched with the other requests that name no model


async def test_moderations_async_with_model_and_several_inputs(stack: Stack, prompt) -> None:
    texts = [prompt("mod-a"), prompt("mod-b")]
    client = stack.async_client()
    moderation = await client.moderations.create(model="omni-moderation-latest", input=texts)
    await client.close()
    assert moderation.model == "omni-moderation-latest" and len(moderation.results) == 2


def test_each_endpoint_is_fetched_by_id_at_its_own_path(stack: Stack, prompt) -> None:
    calls = {
        "/v1/responses": {"model": "gpt-4o-mini", "input": prompt("get-resp")},
        "/v1/completions": {"model": "gpt-3.5-turbo-instruct", "prompt": prompt("get-cmpl")},
        "/v1/moderations": {"input": prompt("get-mod")},
    }
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        for path, body in calls.items():
            accepted = http.post(path, json=body, headers={"Prefer": "respond-async"})
            assert accepted.status_code == 202, accepted.text
            request_id = accepted.json()["id"]
            assert accepted.headers["location"] == f"{path}/{request_id}"
            done = wait_for(
                lambda: (r := http.get(f"{path}/{request_id}")).status_code == 200 and r,  # noqa: B023
                timeout_s=20,
                what=f"the result at {path}",
            )
            message = stack.stand_in.message(request_id)
            assert message is not None and message.endpoint.value == path
            assert done.json()["object"] if path != "/v1/moderations" else done.json()["results"]


@pytest.mark.parametrize(
    ("path", "body", "param", "code"),
    [
        ("/v1/responses", {"input": "x"}, "model", "missing_required_parameter"),
        ("/v1/responses", {"model": "gpt-4o-mini"}, "input", "missing_required_parameter"),
        ("/v1/responses", {"model": "gpt-4o-mini", "input": 5}, "input", "invalid_type"),
        ("/v1/responses", {"model": "gpt-4o-mini", "input": "x", "stream": "yes"}, "stream", "invalid_type"),
        ("/v1/completions", {"model": "gpt-3.5-turbo-instruct"}, "prompt", "missing_required_parameter"),
        ("/v1/completions", {"prompt": "x"}, "model", "missing_required_parameter"),
        ("/v1/moderations", {"model": "omni-moderation-latest"}, "input", "missing_required_parameter"),
        ("/v1/moderations", {"input": "x", "model": 3}, "model", "invalid_type"),
        ("/v1/moderations", {"input": []}, "input", "empty_array"),
    ],
)
def test_bad_bodies_get_400_naming_the_field(stack: Stack, path: str, body: dict, param: str, code: str) -> None:
    with httpx.Client(base_url=stack.base_url, headers=AUTH, timeout=30) as http:
        answer = http.post(path, json=body)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "message": answer.json()["error"]["message"],
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


def test_sdk_raises_bad_request_for_a_responses_call_without_input(stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().responses.create(model="gpt-4o-mini")
    assert caught.value.status_code == 400 and caught.value.param == "input"


def test_line_errors_reach_the_caller_with_their_class(stack: Stack, prompt) -> None:
    client = stack.client()
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt("[sim:error=400:invalid_prompt]"))
    assert bad.value.status_code == 400 and bad.value.code == "invalid_prompt"
    with pytest.raises(openai.RateLimitError) as limited:
        client.moderations.create(input=prompt("[sim:error=429]"))
    assert limited.value.status_code == 429
