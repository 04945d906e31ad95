"""The command line: flags and BATCHGPT_SIM_* variables, validated once; a bad value exits naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from batchgpt.simulator.__main__ import main
from batchgpt.simulator.cli import SettingsError, load_settings
from batchgpt.simulator.testing import start_simulator_process

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BATCHGPT_SIM_")}
    return subprocess.run(
        [sys.executable, "-m", "batchgpt.simulator", *args],
        cwd=REPO,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_env_value_exits_naming_the_variable() -> None:
    result = _run([], {"BATCHGPT_SIM_IN_PROGRESS_SECONDS": "soon"})
    assert result.returncode == 2
    assert "BATCHGPT_SIM_IN_PROGRESS_SECONDS" in result.stderr and "soon" in result.stderr


def test_bad_flag_value_exits_naming_the_flag() -> None:
    result = _run(["--port", "99999"])
    assert result.returncode == 2
    assert "--port" in result.stderr and "BATCHGPT_SIM_PORT" in result.stderr


def test_bad_fault_json_and_choice() -> None:
    assert "BATCHGPT_SIM_FAULTS" in _run([], {"BATCHGPT_SIM_FAULTS": "{not json"}).stderr
    result = _run(["--missing-input-file", "maybe"])
    assert result.returncode == 2 and "--missing-input-file" in result.stderr


def test_help_lists_flags_and_variables() -> None:
    result = _run(["--help"])
    assert result.returncode == 0
    for text in ("--state-dir", "BATCHGPT_SIM_STATE_DIR", "--completion-window-seconds", "--no-require-auth"):
        assert text in result.stdout


def test_main_returns_2_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--validating-seconds", "-1"]) == 2
    assert "--validating-seconds" in capsys.readouterr().err


def test_load_settings_precedence() -> None:
    env = {
        "BATCHGPT_SIM_PORT": "9000",
        "BATCHGPT_SIM_KNOWN_MODELS": "a, b",
        "BATCHGPT_SIM_SHUFFLE_OUTPUT": "false",
    }
    settings = load_settings(["--port", "9001", "--no-require-auth"], env)
    assert (settings.port, settings.known_models, settings.shuffle_output, settings.require_auth) == (
        9001,
        ("a", "b"),
        False,
        False,
    )
    faults = load_settings(
        ["--faults", '[{"kind": "http_error", "route": "files.create", "status": 429}]'], {}
    )
    assert faults.faults[0].status == 429
    with pytest.raises(SettingsError, match="BATCHGPT_SIM_SEED"):
        load_settings([], {"BATCHGPT_SIM_SEED": "x"})


def test_console_script_dispatches_to_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    from batchgpt.cli import main as batch_gpt

    assert batch_gpt(["simulator", "--max-lines", "0"]) == 2
    assert "BATCHGPT_SIM_MAX_LINES" in capsys.readouterr().err


def test_env_configures_a_running_process(tmp_path: Path) -> None:
    env = {"BATCHGPT_SIM_IN_PROGRESS_SECONDS": "0.25", "BATCHGPT_SIM_LOG_LEVEL": "warning"}
    with start_simulator_process(env=env, log_path=tmp_path / "sim.log", accept_any_model=True) as proc:
        config = httpx.get(proc.root_url + "/_sim/config").json()
        assert config["in_progress_seconds"] == 0.25 and config["accept_any_model"] is True
        assert httpx.get(proc.base_url + "/batches").status_code == 401
