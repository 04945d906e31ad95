"""Child processes of the dev stack: started with their logs in files, stopped in reverse order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["ManagedProcess", "stop_all"]


@dataclass
class ManagedProcess:
    """One ``batch-gpt <component>`` child process and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @classmethod
    def cli(
        cls, component: str, args: list[str], env: dict[str, str], state: Path, *, name: str | None = None
    ) -> ManagedProcess:
        """Start ``python -m batchgpt.cli <component> <args>`` with its output in ``state/<name>.log`` (``name``:
        this process's own, e.g. ``collator-2`` for a second collator; the component's by default)."""
        name = name or component
        log_path = state / f"{name}.log"
        log = log_path.open("ab")
        popen = subprocess.Popen(
            [sys.executable, "-m", "batchgpt.cli", component, *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(name, popen, log_path, log)

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def returncode(self) -> int | None:
        return self.popen.poll()

    def wait_for_log(self, text: str, timeout_s: float) -> None:
        """Wait until ``text`` appears in the log (or fail when the process exits or time runs out)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return
            if self.exited():
                raise RuntimeError(f"{self.name} exited with status {self.returncode()}; see {self.log_path}")
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready within {timeout_s:.0f}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the process group at once, as a crash would, and reap it."""
        if not self.exited():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)
        self._log.close()

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``."""
        if not self.exited():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        if not self._log.closed:
            self._log.close()


def stop_all(procs: list[ManagedProcess]) -> None:
    """Stop every process, the last started first (ingress before the broker)."""
    for proc in reversed(procs):
        proc.stop()
