"""A PostgreSQL cluster of a test's own, started and stopped with ``scripts/local_postgres.py`` on a port of its own.

The suite's shared server is never touched: the script is run without ``BATCHGPT_TEST_POSTGRES_URL`` and with
``BATCHGPT_TEST_POSTGRES_PORT`` set, so stopping this cluster is a real outage for whatever points at it only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from batchgpt.simulator.testing import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local_postgres.py"


@dataclass(frozen=True)
class PrivatePostgres:
    """One cluster on ``port``, driven by ``script`` (the repository's ``scripts/local_postgres.py`` by default)."""

    port: int
    script: Path = SCRIPT

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, action: str) -> subprocess.CompletedProcess[str]:
        """Run the script's ``start`` or ``stop`` for this cluster."""
        env = {k: v for k, v in os.environ.items() if k != "BATCHGPT_TEST_POSTGRES_URL"}
        env["BATCHGPT_TEST_POSTGRES_PORT"] = str(self.port)
        return subprocess.run(
            [sys.executable, str(self.script), action],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> None:
        """Start the cluster (created on first start) and wait until it accepts connections."""
        started = self.run("start")
        assert started.returncode == 0, started.stderr

    def stop(self) -> None:
        """Stop the cluster (fast shutdown: open connections are closed)."""
        stopped = self.run("stop")
        assert stopped.returncode == 0, stopped.stderr


@contextlib.contextmanager
def running_private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster of the caller's own on a free port, started for the block and stopped after it."""
    cluster = PrivatePostgres(free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.run("stop")
