"""``GET /v1/models`` through the SDK (sync and async): the upstream's list (the simulator's), in OpenAI's shape,
cached for ``BATCHGPT_MODELS_TTL_S``, behind the same keys as every route."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import openai
import pytest
from openai.types import Model

from batchgpt.simulator.testing import RunningSimulator
from tests.ingress.conftest import ALICE, Stack
from tests.ingress.servers import ThreadedIngress
from tests.simulator.conftest import shared_sim, sim  # noqa: F401  (the simulator tests' fixtures)
from tests.support.conformance import assert_conforms


def _upstream(sim: RunningSimulator) -> dict[str, object]:  # noqa: F811
    return {"openai_api_key": "sk-upstream", "openai_base_url": sim.base_url}


def test_list_is_the_upstream_list_in_openai_shape_and_cached(
    stack: Stack,
    sim: RunningSimulator,  # noqa: F811
    start_ingress: Callable[..., ThreadedIngress],
) -> None:
    ingress = start_ingress(**_upstream(sim), models_ttl_seconds=600)
    client = stack.client(base_url=ingress.base_url)
    listed = [model.id for model in client.models.list()]
    assert listed == list(sim.settings.known_models)
    with httpx.Client(base_url=ingress.base_url, headers={"Authorization": f"Bearer {ALICE}"}, timeout=30) as http:
        page = http.get("/v1/models").json()
    assert set(page) == {"object", "data"} and page["object"] == "list"
    for item in page["data"]:
        assert_conforms(Model, item)
    assert sim.stats()["api_calls"]["models.list"] == 1  # the second list came from memory


async def test_retrieve_and_unknown_model_async(
    stack: Stack,
    sim: RunningSimulator,  # noqa: F811
    start_ingress: Callable[..., ThreadedIngress],
) -> None:
    ingress = start_ingress(**_upstream(sim))
    client = stack.async_client(base_url=ingress.base_url)
    model = await client.models.retrieve("gpt-4o-mini")
    assert model.id == "gpt-4o-mini" and model.object == "model"
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("no-such-model")
    await client.close()
    assert caught.value.code == "model_not_found"


def test_ttl_zero_asks_again_and_a_failed_refresh_serves_the_last_list(
    stack: Stack,
    sim: RunningSimulator,  # noqa: F811
    start_ingress: Callable[..., ThreadedIngress],
) -> None:
    ingress = start_ingress(**_upstream(sim), models_ttl_seconds=0)
    client = stack.client(base_url=ingress.base_url)
    first = [model.id for model in client.models.list()]
    sim.inject(kind="http_error", route="models.list", status=503, count=1)
    assert [model.id for model in client.models.list()] == first
    assert sim.stats()["api_calls"]["models.list"] == 2


def test_models_need_a_key_and_an_upstream(stack: Stack) -> None:
    with pytest.raises(openai.AuthenticationError):
        stack.client(key="sk-not-a-key").models.list()
    with pytest.raises(openai.InternalServerError) as caught:  # this stack's ingress has no upstream configured
        stack.client().models.list()
    assert caught.value.status_code == 503
