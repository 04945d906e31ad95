"""Starts a throwaway PostgreSQL server from Debian's binaries for the test suite (no root setup needed).

``python scripts/local_postgres.py start`` prints ``BATCHGPT_TEST_POSTGRES_URL=…`` on success;
``stop`` stops it. When ``BATCHGPT_TEST_POSTGRES_URL`` is already set, ``start`` only echoes it.
The cluster listens on 127.0.0.1 only. It lives in ``.run/postgres`` of the clone, except as root:
the server then runs as the ``postgres`` user, who may not be able to enter the clone (a clone in
``/root``, mode 700, or in a ``mktemp -d`` folder), so the cluster lives in a directory of its own
under the system's temporary directory, owned by ``postgres`` and named after the clone and the port.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BATCHGPT_TEST_POSTGRES_PORT", "55432"))
URL = f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"


def _home() -> Path:
    """Where the cluster, its socket and its log live (see the module docstring for why root differs)."""
    if os.geteuid() != 0:
        return ROOT / ".run"
    clone = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path("/tmp" if Path("/tmp").is_dir() else tempfile.gettempdir()) / f"batchgpt-postgres-{clone}-{PORT}"


HOME = _home()
DATA = HOME / "postgres"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if found:
        return found[0]
    path = shutil.which(name)
    if path:
        return path
    sys.exit(f"PostgreSQL's {name} was not found: install the server (apt-get install -y postgresql)")


def _as_postgres(cmd: list[str]) -> list[str]:
    """The server refuses to run as root: drop to the 'postgres' user when we are root."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        sys.exit("running as root needs a 'postgres' user (created by Debian's postgresql package)")
    return ["runuser", "-u", "postgres", "--", *cmd]


def _ready() -> bool:
    result = subprocess.run([_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(PORT)], capture_output=True, check=False)
    return result.returncode == 0


def start() -> int:
    if os.environ.get("BATCHGPT_TEST_POSTGRES_URL"):
        sys.stdout.write(f"BATCHGPT_TEST_POSTGRES_URL={os.environ['BATCHGPT_TEST_POSTGRES_URL']}\n")
        return 0
    if _ready():
        sys.stdout.write(f"BATCHGPT_TEST_POSTGRES_URL={URL}\n")
        return 0
    HOME.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        HOME.chmod(0o755)
        shutil.chown(HOME, "postgres", "postgres")
    if not (DATA / "PG_VERSION").exists():
        shutil.rmtree(DATA, ignore_errors=True)
        DATA.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(DATA, "postgres", "postgres")
        subprocess.run(
            _as_postgres([_bin("initdb"), "-D", str(DATA), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    log = DATA.parent / "postgres.log"
    log.touch()
    if os.geteuid() == 0:
        shutil.chown(log, "postgres", "postgres")
    opts = (
        f"-p {PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={DATA} -c fsync=off -c max_connections=300"
    )
    subprocess.run(
        _as_postgres([_bin("pg_ctl"), "-D", str(DATA), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _ready():
        if time.monotonic() > deadline:
            sys.exit(f"PostgreSQL did not become ready; see {log}")
        time.sleep(0.2)
    sys.stdout.write(f"BATCHGPT_TEST_POSTGRES_URL={URL}\n")
    return 0


def stop() -> int:
    if (DATA / "postmaster.pid").exists():
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(DATA), "-m", "fast", "stop"]), check=False)
    return 0


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "start"
    raise SystemExit(start() if action == "start" else stop())
