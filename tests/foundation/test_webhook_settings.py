"""The webhook settings: secrets validated at start (``whsec_`` + base64, never echoed), URL and secret together,
and the resolver's slower default poll when OpenAI's webhooks are on."""

from __future__ import annotations

import pytest

from batchgpt.settings import SettingsError, load_settings
from batchgpt.webhooks.signing import new_secret
from ingress.settings import IngressSettings
from resolver.settings import OPENAI_POLL_INTERVAL_S, WEBHOOK_POLL_INTERVAL_S, ResolverSettings


@pytest.mark.parametrize("bad", ["not-a-secret", "whsec_", "whsec_!!!not base64!!!"])
@pytest.mark.parametrize("variable", ["OPENAI_WEBHOOK_SECRET", "BATCHGPT_WEBHOOK_SECRET"])
def test_a_bad_secret_stops_the_start_naming_the_variable_without_showing_it(variable: str, bad: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(ResolverSettings, {variable: bad, "BATCHGPT_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    message = str(caught.value)
    assert variable in message
    assert "(got <redacted>)" in message
    assert repr(bad) not in message


@pytest.mark.parametrize("given", ["BATCHGPT_WEBHOOK_URL", "BATCHGPT_WEBHOOK_SECRET"])
def test_the_outbound_url_and_secret_go_together(given: str) -> None:
    value = "http://127.0.0.1:9/hook" if given == "BATCHGPT_WEBHOOK_URL" else new_secret()
    with pytest.raises(SettingsError, match="BATCHGPT_WEBHOOK_URL and BATCHGPT_WEBHOOK_SECRET go together"):
        load_settings(ResolverSettings, {given: value})


def test_outbound_webhooks_are_on_with_a_url_and_a_secret() -> None:
    settings = load_settings(
        ResolverSettings,
        {"BATCHGPT_WEBHOOK_URL": "https://hooks.example/batch-gpt", "BATCHGPT_WEBHOOK_SECRET": new_secret()},
    )
    assert settings.webhooks_out
    assert not load_settings(ResolverSettings, {}).webhooks_out
    with pytest.raises(SettingsError, match="BATCHGPT_WEBHOOK_URL"):
        load_settings(ResolverSettings, {"BATCHGPT_WEBHOOK_URL": "ftp://x", "BATCHGPT_WEBHOOK_SECRET": new_secret()})


def test_with_openai_webhooks_on_polls_are_the_slow_fallback_unless_the_interval_is_set() -> None:
    secret = new_secret()
    assert load_settings(ResolverSettings, {}).poll_interval_seconds == OPENAI_POLL_INTERVAL_S
    assert load_settings(ResolverSettings, {"OPENAI_WEBHOOK_SECRET": secret}).poll_interval_seconds == (
        WEBHOOK_POLL_INTERVAL_S
    )
    assert (
        load_settings(
            ResolverSettings, {"OPENAI_WEBHOOK_SECRET": secret, "BATCHGPT_POLL_INTERVAL_S": "7"}
        ).poll_interval_seconds
        == 7.0
    )
    assert load_settings(IngressSettings, {"OPENAI_WEBHOOK_SECRET": secret}).openai_webhook_secret is not None
