"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from batchgpt.broker import KAFKA_VERSION
from batchgpt.cli import _COMMANDS
from batchgpt.settings import env_names
from collator.settings import CollatorSettings
from ingress.settings import IngressSettings
from resolver.settings import ResolverSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS = {"ingress": IngressSettings, "collator": CollatorSettings, "resolver": ResolverSettings}


def test_kafka_is_the_official_image_in_kraft_mode_at_our_version() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS" in env


def test_every_service_has_a_healthcheck() -> None:
    for name, service in SERVICES.items():
        assert "healthcheck" in service, name


def test_services_run_our_subcommands_with_known_settings_only() -> None:
    for name, cls in SETTINGS.items():
        service = SERVICES[name]
        assert service["command"][0] == name
        assert name in _COMMANDS
        known = set(env_names(cls).values())
        env = set(service["environment"])
        assert env <= known, f"{name}: unknown variables {sorted(env - known)}"
        assert "KAFKA_BOOTSTRAP_SERVERS" in env
        assert service["environment"]["BATCHGPT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("collator", "resolver"):
        env = SERVICES[name]["environment"]
        assert {"OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"} <= set(env)
    assert "COLLATE_BATCHES_FOR_DURATION_IN_MS" in SERVICES["collator"]["environment"]


def test_simulator_sits_behind_a_profile() -> None:
    simulator = SERVICES["simulator"]
    assert simulator["profiles"] == ["simulator"]
    assert simulator["command"][0] == "simulator"


def test_dockerfile_installs_every_package_and_runs_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("schemas", "batchgpt", "ingress", "collator", "resolver"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert 'ENTRYPOINT ["batch-gpt"]' in dockerfile
