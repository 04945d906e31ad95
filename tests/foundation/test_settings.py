"""Settings: read once from the environment; a bad value stops the process naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from batchgpt.settings import SettingsError, env_names, load_settings
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


def test_a_bad_value_stops_the_process_with_the_variable_name() -> None:
    code = (
        "from batchgpt.settings import settings_or_exit\n"
        "from collator.settings import CollatorSettings\n"
        "settings_or_exit(CollatorSettings, 'collator')\n"
        "print('should not get here')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"COLLATE_BATCHES_FOR_DURATION_IN_MS": "abc", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 2
    assert "COLLATE_BATCHES_FOR_DURATION_IN_MS" in proc.stderr
    assert "should not get here" not in proc.stdout


def test_secrets_are_not_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(IngressSettings, environ={"BATCHGPT_API_KEYS": "sk-secret", "BATCHGPT_PORT": "x"})
    assert "sk-secret" not in str(info.value)
