"""The OpenAI edge's model list against the simulator (``GET /models``), and its failures in the error tree."""

from __future__ import annotations

import pytest

from batchgpt.simulator.testing import RunningSimulator
from batchgpt.upstream import OpenAIUpstream, UpstreamModel, UpstreamTransient


async def test_models_lists_what_the_upstream_serves(upstream: OpenAIUpstream, sim: RunningSimulator) -> None:
    models = await upstream.models()
    assert [m.id for m in models] == list(sim.settings.known_models)
    assert all(isinstance(m, UpstreamModel) and m.created > 0 and m.owned_by for m in models)


async def test_a_failing_model_list_is_a_transient_upstream_error(
    upstream: OpenAIUpstream, sim: RunningSimulator
) -> None:
    sim.inject(kind="http_error", route="models.list", status=503, count=1)
    with pytest.raises(UpstreamTransient) as caught:
        await upstream.models()
    assert caught.value.status == 503 and caught.value.operation == "models.list"
    assert len(await upstream.models()) == len(sim.settings.known_models)
