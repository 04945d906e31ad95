"""The README's first command: ``batch-gpt dev`` starts everything, answers its own curl and Python
examples, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from batchgpt.simulator.answers import expected_chat_content
from batchgpt.simulator.message_answers import expected_message_text
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.testing import run_simulator
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start_dev(env: dict[str, str], out_path: Path, state: Path, *ports: str) -> subprocess.Popen[bytes]:
    """``batch-gpt dev`` with ``env`` and the given flags, its output in ``out_path``."""
    with out_path.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "batchgpt.cli", "dev", *ports, "--state-dir", str(state)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_up(proc: subprocess.Popen[bytes], out_path: Path) -> str:
    """Wait until the stack says it is up; what it printed."""
    wait_for(
        lambda: "batch-gpt is up" in out_path.read_text() or proc.poll() is not None,
        timeout_s=240,
        what="the dev stack",
    )
    printed = out_path.read_text()
    assert proc.poll() is None, printed
    assert "not built yet" not in printed
    return printed


def _run_printed_curl(printed: str) -> None:
    curl_line = next(line.strip() for line in printed.splitlines() if line.strip().startswith("curl "))
    curl = subprocess.run(["bash", "-c", curl_line], capture_output=True, text=True, timeout=120, check=True)
    assert expected_chat_content({"messages": [{"role": "user", "content": "Say hi"}]}) in curl.stdout


def _run_printed_snippet(printed: str, title: str) -> str:
    """Run the indented Python snippet printed under ``title``; what it printed."""
    lines = printed.splitlines()
    snippet: list[str] = []
    for line in lines[lines.index(title) + 1 :]:
        if line.strip() and not line.startswith("    "):
            break
        snippet.append(line[4:])
    python = subprocess.run([sys.executable, "-c", "\n".join(snippet)], capture_output=True, text=True, timeout=120)
    assert python.returncode == 0, python.stderr
    return python.stdout.strip()


def _stop(proc: subprocess.Popen[bytes], out_path: Path) -> None:
    """Ctrl-C; the stack stops cleanly."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    assert proc.wait(90) == 0
    assert "stopped." in out_path.read_text()


def test_dev_stack_answers_the_printed_curl_and_python_examples(tmp_path: Path) -> None:
    port, kafka_port, sim_port = _free_port(), _free_port(), _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BATCHGPT_", "OPENAI_", "ANTHROPIC_", "KAFKA_", "COLLATE_"))
    }
    env["COLLATE_BATCHES_FOR_DURATION_IN_MS"] = "300"
    out_path = tmp_path / "dev.out"
    flags = ("--port", str(port), "--kafka-port", str(kafka_port), "--simulator-port", str(sim_port))
    proc = _start_dev(env, out_path, tmp_path / "state", *flags)
    try:
        printed = _wait_up(proc, out_path)
        assert "OPENAI_API_KEY is not set: using the LOCAL SIMULATOR" in printed
        assert "ANTHROPIC_API_KEY is not set: /v1/messages uses the LOCAL SIMULATOR" in printed
        _run_printed_curl(printed)
        hi = [{"role": "user", "content": "Hi"}]
        assert _run_printed_snippet(printed, "  Python:") == expected_chat_content({"messages": hi})
        anthropic_text = _run_printed_snippet(printed, "  Anthropic (Python):")  # make run serves /v1/messages
        assert anthropic_text == expected_message_text(
            {"model": "claude-sonnet-4-6", "max_tokens": 256, "messages": hi}
        )
    finally:
        _stop(proc, out_path)
    wait_for(lambda: not any(_port_open(p) for p in (port, kafka_port, sim_port)), timeout_s=15, what="ports closed")


def test_with_azure_variables_the_dev_stack_talks_to_azure_and_starts_no_simulator(
    tmp_path: Path, kafka_bootstrap: str, unique_id: str
) -> None:
    azure_settings = SimulatorSettings(
        dialect="azure", validating_seconds=0.05, in_progress_seconds=0.2, finalizing_seconds=0.05, log_level="warning"
    )
    with run_simulator(azure_settings) as azure:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BATCHGPT_", "OPENAI_", "AZURE_OPENAI_", "ANTHROPIC_", "KAFKA_", "COLLATE_"))
        }
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,  # the session broker, under this test's own topics
                "BATCHGPT_TOPIC_PREFIX": f"dev{unique_id}.",
                "AZURE_OPENAI_ENDPOINT": azure.root_url,
                "AZURE_OPENAI_API_KEY": "azure-dev-key",
                # Anthropic's key set too (unused here): with it unset, the simulator would serve /v1/messages
                "ANTHROPIC_API_KEY": "sk-ant-dev-key",
                "ANTHROPIC_BASE_URL": azure.root_url,
                "COLLATE_BATCHES_FOR_DURATION_IN_MS": "300",
                "BATCHGPT_POLL_INTERVAL_S": "0.2",
            }
        )
        out_path = tmp_path / "dev.out"
        sim_port = _free_port()
        proc = _start_dev(
            env, out_path, tmp_path / "state", "--port", str(_free_port()), "--simulator-port", str(sim_port)
        )
        try:
            printed = _wait_up(proc, out_path)
            assert f"using Azure OpenAI at {azure.root_url}" in printed
            assert "LOCAL SIMULATOR" not in printed and not _port_open(sim_port)
            _run_printed_curl(printed)
            assert azure.stats()["lines_submitted"] == 1  # the call went to Azure (here: the simulator's dialect)
        finally:
            _stop(proc, out_path)
