"""Running ``batch-gpt collator`` as a child process (for SIGKILL and SIGTERM tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from collator.settings import CollatorSettings

__all__ = ["CollatorProcess"]

_ENV_OF_FIELD = {
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "topic_prefix": "BATCHGPT_TOPIC_PREFIX",
    "topic_partitions": "BATCHGPT_TOPIC_PARTITIONS",
    "database_url": "BATCHGPT_DATABASE_URL",
    "openai_base_url": "OPENAI_BASE_URL",
    "window_ms": "COLLATE_BATCHES_FOR_DURATION_IN_MS",
    "submit_backoff_seconds": "BATCHGPT_SUBMIT_BACKOFF_S",
    "submit_backoff_max_seconds": "BATCHGPT_SUBMIT_BACKOFF_MAX_S",
    "lease_seconds": "BATCHGPT_COLLATOR_LEASE_S",
    "sweep_interval_seconds": "BATCHGPT_COLLATOR_SWEEP_S",
    "commit_interval_seconds": "BATCHGPT_COLLATOR_COMMIT_INTERVAL_S",
    "upstream_timeout_seconds": "BATCHGPT_UPSTREAM_TIMEOUT_S",
    "session_timeout_seconds": "BATCHGPT_COLLATOR_SESSION_TIMEOUT_S",
}


class CollatorProcess:
    """``python -m batchgpt.cli collator`` with the environment of ``settings`` (+ ``extra_env``)."""

    def __init__(self, settings: CollatorSettings, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BATCHGPT_", "OPENAI_", "KAFKA_", "COLLATE_"))}
        for field, var in _ENV_OF_FIELD.items():
            env[var] = str(getattr(settings, field))
        env["OPENAI_API_KEY"] = "sk-test"
        env["BATCHGPT_LOG_FORMAT"] = "text"
        env.update(extra_env or {})
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "batchgpt.cli", "collator"], env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        """Everything the child wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout_s: float) -> int:
        """Wait for the child to exit; its return code (negative: killed by that signal)."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"collator did not exit within {timeout_s}s:\n{self.output()[-4000:]}") from None

    def terminate(self, timeout_s: float = 40.0) -> int:
        """SIGTERM and wait (a clean shutdown)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout_s)

    def kill(self) -> None:
        """SIGKILL if still running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
