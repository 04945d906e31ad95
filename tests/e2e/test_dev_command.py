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


def test_dev_stack_answers_the_printed_curl_and_python_examples(tmp_path: Path) -> None:
    port, kafka_port, sim_port = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATCHGPT_", "OPENAI_", "KAFKA_", "COLLATE_"))}
    env["COLLATE_BATCHES_FOR_DURATION_IN_MS"] = "300"
    out_path = tmp_path / "dev.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "batchgpt.cli",
                "dev",
                "--port",
                str(port),
                "--kafka-port",
                str(kafka_port),
                "--simulator-port",
                str(sim_port),
                "--state-dir",
                str(tmp_path / "state"),
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: "batch-gpt is up" in out_path.read_text() or proc.poll() is not None,
            timeout_s=240,
            what="the dev stack",
        )
        printed = out_path.read_text()
        assert proc.poll() is None, printed
        assert "OPENAI_API_KEY is not set: using the LOCAL SIMULATOR" in printed
        assert "not built yet" not in printed

        curl_line = next(line.strip() for line in printed.splitlines() if line.strip().startswith("curl "))
        curl = subprocess.run(["bash", "-c", curl_line], capture_output=True, text=True, timeout=120, check=True)
        assert expected_chat_content({"messages": [{"role": "user", "content": "Say hi"}]}) in curl.stdout

        lines = printed.splitlines()
        start = lines.index("  Python:") + 1
        snippet = "\n".join(line[4:] for line in lines[start:] if line.startswith("    "))
        python = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120)
        assert python.returncode == 0, python.stderr
        assert python.stdout.strip() == expected_chat_content({"messages": [{"role": "user", "content": "Hi"}]})
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(90)
    assert code == 0
    assert "stopped." in out_path.read_text()
    wait_for(lambda: not any(_port_open(p) for p in (port, kafka_port, sim_port)), timeout_s=15, what="ports closed")
