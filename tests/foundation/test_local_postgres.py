"""The test PostgreSQL starts from a clone in any directory, including one its server user cannot enter.

As root the server runs as ``postgres``, who cannot traverse ``/root`` (mode 700) or a ``mktemp -d``
folder; the script must place the cluster where that user can reach it. The clone here is a copy of
the script in a mode-700 folder, with a port of its own, so the suite's own server is not touched.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from batchgpt.simulator.testing import free_port
from tests.support.private_postgres import SCRIPT, PrivatePostgres

pytestmark = pytest.mark.integration


@pytest.fixture
def private_clone(tmp_path: Path) -> Iterator[PrivatePostgres]:
    clone = tmp_path / "private" / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, clone / "scripts" / "local_postgres.py")
    (tmp_path / "private").chmod(0o700)
    cluster = PrivatePostgres(free_port(), clone / "scripts" / "local_postgres.py")
    try:
        yield cluster
    finally:
        cluster.run("stop")


def test_starts_and_stops_from_a_mode_700_directory(private_clone: PrivatePostgres) -> None:
    port = private_clone.port
    started = private_clone.run("start")
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

    stopped = private_clone.run("stop")
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
