"""Settings: read once from the environment; a bad value stops the process naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from batchgpt.settings import SettingsError, UpstreamSettings, env_names, load_settings
from batchgpt.upstream import AnthropicUpstream, OpenAIUpstream, make_upstreams
from collator.settings import CollatorSettings
from ingress.settings import IngressSettings
from resolver.settings import ResolverSettings

SERVICE_SETTINGS = [IngressSettings, CollatorSettings, ResolverSettings]


@pytest.mark.parametrize("cls", SERVICE_SETTINGS)
def test_defaults_are_valid(cls: type) -> None:
    settings = load_settings(cls, environ={})
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.topics.requests == "batchgpt.requests"
    assert settings.database_url.startswith("sqlite:///")


def test_contract_variable_names() -> None:
    assert set(env_names(CollatorSettings).values()) >= {
        "KAFKA_BOOTSTRAP_SERVERS", "BATCHGPT_DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
        "COLLATE_BATCHES_FOR_DURATION_IN_MS", "BATCHGPT_MAX_BATCH_REQUESTS", "BATCHGPT_MAX_BATCH_BYTES",
        "BATCHGPT_TOPIC_PREFIX",
    }  # fmt: skip
    assert set(env_names(IngressSettings).values()) >= {
        "BATCHGPT_MAX_WAIT_S", "BATCHGPT_API_KEYS", "BATCHGPT_CACHE", "BATCHGPT_MAX_BODY_BYTES",
        "BATCHGPT_RESULT_TTL_S",
    }  # fmt: skip
    assert set(env_names(ResolverSettings).values()) >= {"BATCHGPT_POLL_INTERVAL_S", "BATCHGPT_RETRY_UNFINISHED"}


def test_values_are_parsed_from_the_environment() -> None:
    settings = load_settings(
        IngressSettings,
        environ={"BATCHGPT_API_KEYS": "sk-a, sk-b", "BATCHGPT_CACHE": "OFF", "BATCHGPT_MAX_WAIT_S": "2.5"},
    )
    assert [k.get_secret_value() for k in settings.api_keys] == ["sk-a", "sk-b"]
    assert settings.cache == "off"
    assert settings.max_wait_seconds == 2.5
    assert load_settings(IngressSettings, environ={}).cache == "deterministic"
    assert load_settings(IngressSettings, environ={"BATCHGPT_CACHE": "Deterministic"}).cache == "deterministic"
    collator = load_settings(CollatorSettings, environ={"COLLATE_BATCHES_FOR_DURATION_IN_MS": "250"})
    assert collator.window_seconds == 0.25
    pg = load_settings(ResolverSettings, environ={"BATCHGPT_DATABASE_URL": "postgresql://u@h/db"})
    assert pg.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("cls", "var", "value"),
    [
        (CollatorSettings, "COLLATE_BATCHES_FOR_DURATION_IN_MS", "soon"),
        (CollatorSettings, "BATCHGPT_MAX_BATCH_REQUESTS", "60000"),
        (CollatorSettings, "BATCHGPT_MAX_BATCH_BYTES", "300000000"),
        (IngressSettings, "BATCHGPT_CACHE", "maybe"),
        (IngressSettings, "BATCHGPT_PORT", "70000"),
        (ResolverSettings, "BATCHGPT_POLL_INTERVAL_S", "-1"),
        (ResolverSettings, "BATCHGPT_DATABASE_URL", "mysql://x"),
        (ResolverSettings, "OPENAI_BASE_URL", "ftp://x"),
        (IngressSettings, "BATCHGPT_LOG_LEVEL", "loud"),
    ],
)
def test_bad_value_names_the_variable(cls: type, var: str, value: str) -> None:
    with pytest.raises(SettingsError, match=var):
        load_settings(cls, environ={var: value})


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with only ``env`` (and ``PATH``) as its environment."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PATH": "/usr/bin:/bin"}, check=False
    )


def test_a_bad_value_stops_the_process_with_the_variable_name() -> None:
    code = (
        "from batchgpt.settings import settings_or_exit\n"
        "from collator.settings import CollatorSettings\n"
        "settings_or_exit(CollatorSettings, 'collator')\n"
        "print('should not get here')"
    )
    proc = _python(code, {"COLLATE_BATCHES_FOR_DURATION_IN_MS": "abc"})
    assert proc.returncode == 2
    assert "COLLATE_BATCHES_FOR_DURATION_IN_MS" in proc.stderr
    assert "should not get here" not in proc.stdout


def test_secrets_are_not_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(IngressSettings, environ={"BATCHGPT_API_KEYS": "sk-secret", "BATCHGPT_PORT": "x"})
    assert "sk-secret" not in str(info.value)


AZURE = {"AZURE_OPENAI_ENDPOINT": "https://my-resource.openai.azure.com/", "AZURE_OPENAI_API_KEY": "az-secret-key"}


@pytest.mark.parametrize("cls", [CollatorSettings, ResolverSettings])
def test_azure_variables_select_azure_openai(cls: type) -> None:
    settings = load_settings(cls, environ=AZURE)
    assert settings.provider == "azure"
    assert settings.azure_openai_endpoint == "https://my-resource.openai.azure.com"
    assert settings.upstream_key.get_secret_value() == "az-secret-key"
    openai = load_settings(cls, environ={"OPENAI_API_KEY": "sk-x"})
    assert openai.provider == "openai" and openai.upstream_key.get_secret_value() == "sk-x"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"AZURE_OPENAI_ENDPOINT": AZURE["AZURE_OPENAI_ENDPOINT"]},
            "AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is not",
        ),
        ({"AZURE_OPENAI_API_KEY": "az-secret-key"}, "AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not"),
        ({**AZURE, "OPENAI_API_KEY": "sk-secret"}, "both OpenAI (OPENAI_API_KEY / OPENAI_BASE_URL) and Azure OpenAI"),
        ({**AZURE, "OPENAI_BASE_URL": "https://api.example.com/v1"}, "set one provider's variables only"),
        ({"AZURE_OPENAI_ENDPOINT": "my-resource", "AZURE_OPENAI_API_KEY": "k"}, "AZURE_OPENAI_ENDPOINT: "),
    ],
)
def test_half_of_azures_pair_or_both_providers_stop_the_start(environ: dict[str, str], message: str) -> None:
    for cls in (CollatorSettings, ResolverSettings):
        with pytest.raises(SettingsError) as info:
            load_settings(cls, environ=environ)
        assert message in str(info.value)
        assert "secret" not in str(info.value)  # neither key is echoed


def test_azure_polls_every_60_seconds_unless_the_interval_is_set() -> None:
    assert load_settings(ResolverSettings, environ={}).poll_interval_seconds == 30.0
    azure = load_settings(ResolverSettings, environ=AZURE)
    assert azure.poll_interval_seconds == 60.0
    assert azure.min_poll_gap_for("openai") == 60.0  # the jitter may stretch the interval, never shrink it
    chosen = load_settings(ResolverSettings, environ={**AZURE, "BATCHGPT_POLL_INTERVAL_S": "5"})
    assert (chosen.poll_interval_seconds, chosen.min_poll_gap_for("openai")) == (5.0, 0.0)


def test_anthropic_batches_keep_the_plain_poll_interval_under_azure_or_openai_webhooks() -> None:
    webhooks = {"OPENAI_WEBHOOK_SECRET": "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"}
    for environ in (AZURE, webhooks):
        settings = load_settings(ResolverSettings, environ=environ)
        assert settings.poll_interval_for("openai") in (60.0, 300.0)
        assert (settings.poll_interval_for("anthropic"), settings.min_poll_gap_for("anthropic")) == (30.0, 0.0)
    chosen = load_settings(ResolverSettings, environ={**webhooks, "BATCHGPT_POLL_INTERVAL_S": "2"})
    assert (chosen.poll_interval_for("openai"), chosen.poll_interval_for("anthropic")) == (2.0, 2.0)


def test_a_service_started_with_half_of_azures_pair_exits_naming_the_variables() -> None:
    code = "from resolver.__main__ import main\nraise SystemExit(main([]))\n"
    proc = _python(code, {"AZURE_OPENAI_ENDPOINT": "https://my-resource.openai.azure.com"})
    assert proc.returncode == 2
    assert "AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is not" in proc.stderr


def test_anthropic_is_configured_beside_openai_and_both_upstreams_are_built() -> None:
    env = {"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/v1/"}
    settings = load_settings(UpstreamSettings, env)
    assert settings.anthropic_base_url == "http://127.0.0.1:9"
    upstreams = make_upstreams(settings)
    assert isinstance(upstreams["openai"], OpenAIUpstream) and isinstance(upstreams["anthropic"], AnthropicUpstream)
    only_anthropic = make_upstreams(load_settings(UpstreamSettings, {"ANTHROPIC_API_KEY": "sk-a"}))
    assert set(only_anthropic) == {"anthropic"}
    assert load_settings(UpstreamSettings, {}).anthropic_base_url == "https://api.anthropic.com"
    with pytest.raises(SettingsError, match="ANTHROPIC_BASE_URL"):
        load_settings(UpstreamSettings, {"ANTHROPIC_BASE_URL": "api.example"})
