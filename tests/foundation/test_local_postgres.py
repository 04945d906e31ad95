"""The test PostgreSQL starts from a clone in any directory, including one its server user cannot enter.

As root the server runs as ``postgres``, who cannot traverse ``/root`` (mode 700) or a ``mktemp -d``
folder; the script must place the cluster where that user can reach it. The clone here is a copy of
the script in a mode-700 folder, with a port of its own, so the suite's own server is not touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local_postgres.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(script: Path, action: str, port: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BATCHGPT_TEST_POSTGRES_URL"}
    env["BATCHGPT_TEST_POSTGRES_PORT"] = str(port)
    return subprocess.run(
        [sys.executable, str(script), action], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def private_clone(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    clone = tmp_path / "private" / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, clone / "scripts" / "local_postgres.py")
    (tmp_path / "private").chmod(0o700)
    script = clone / "scripts" / "local_postgres.py"
    port = _free_port()
    try:
        yield script, port
    finally:
        _run(script, "stop", port)


def test_starts_and_stops_from_a_mode_700_directory(private_clone: tuple[Path, int]) -> None:
    script, port = private_clone
    started = _run(script, "start", port)
    assert started.returncode == 0, started.stderr
    line = started.stdout.strip().splitlines()[-1]
    name, _, url = line.partition("=")
    assert name == "BATCHGPT_TEST_POSTGRES_URL"
    assert f":{port}/" in url

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()

    stopped = _run(script, "stop", port)
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
