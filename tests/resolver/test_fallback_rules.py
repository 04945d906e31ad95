"""The deadline fallback's pure rules: which call answers (sync or flex, by endpoint), what a failed call answers,
and the setting validated at start."""

from __future__ import annotations

import pytest

from batchgpt.settings import SettingsError, load_settings
from batchgpt.store.records import ResultRow
from batchgpt.upstream import UpstreamRejected, UpstreamTransient
from ingress.settings import IngressSettings
from resolver.fallback import chosen, error_answer, fallback_call
from resolver.results import Outcome
from resolver.settings import ResolverSettings
from schemas import Endpoint, ReplyStatus, RequestMessage

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def _request(endpoint: Endpoint, body: dict[str, object]) -> RequestMessage:
    return RequestMessage(request_id="req_1", endpoint=endpoint, body=body)


def test_flex_asks_for_the_flex_tier_on_chat_and_responses_and_falls_back_to_sync_elsewhere() -> None:
    flex = fallback_call("flex", _request(Endpoint.CHAT_COMPLETIONS, CHAT))
    assert (flex.kind, flex.endpoint, flex.body) == (
        "flex",
        Endpoint.CHAT_COMPLETIONS,
        {**CHAT, "service_tier": "flex"},
    )
    assert fallback_call("flex", _request(Endpoint.RESPONSES, {"model": "m", "input": "x"})).kind == "flex"
    embeddings = fallback_call("flex", _request(Endpoint.EMBEDDINGS, {"model": "e", "input": "x"}))
    assert (embeddings.kind, embeddings.body) == ("sync", {"model": "e", "input": "x"})
    sync = fallback_call("sync", _request(Endpoint.CHAT_COMPLETIONS, CHAT))
    assert (sync.kind, sync.body) == ("sync", CHAT)  # the body as sent (the edge removes the stream fields)


def test_a_failed_call_answers_the_providers_error_or_503_when_it_was_never_reached() -> None:
    inner = {"message": "Flex is busy", "type": "rate_limit_error", "param": None, "code": "resource_unavailable"}
    busy = error_answer(UpstreamTransient("sync: HTTP 429", status=429, body=inner))
    assert (busy.status, busy.status_code, busy.body) == (ReplyStatus.FAILED, 429, {"error": inner})
    bare = error_answer(UpstreamRejected("sync: HTTP 404: gone", status=404, code="not_found"))
    assert bare.status_code == 404 and bare.body["error"]["code"] == "not_found"
    down = error_answer(UpstreamTransient("sync: connection error"))
    assert down.status_code == 503 and down.body["error"]["code"] == "upstream_unavailable"


def test_a_late_batch_line_answers_before_the_call_or_instead_of_its_error() -> None:
    late = ResultRow("req_1", None, "completed", 200, "{}", 1.0)
    assert not chosen(None, None)
    assert chosen(late, None)  # it came back before the call: no call at all
    assert not chosen(late, Outcome(ReplyStatus.COMPLETED, 200, {}))  # the call answered (the line stays late)
    assert chosen(late, error_answer(UpstreamTransient("sync: HTTP 429", status=429)))


@pytest.mark.parametrize("settings", [IngressSettings, ResolverSettings])
def test_the_fallback_setting_is_validated_at_start(settings: type[IngressSettings | ResolverSettings]) -> None:
    assert not load_settings(settings, {}).deadlines_on
    assert load_settings(settings, {"BATCHGPT_DEADLINE_FALLBACK": "FLEX"}).deadline_fallback == "flex"
    with pytest.raises(SettingsError, match="BATCHGPT_DEADLINE_FALLBACK"):
        load_settings(settings, {"BATCHGPT_DEADLINE_FALLBACK": "later"})
