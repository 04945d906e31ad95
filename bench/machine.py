"""The conditions of a benchmark run, read from the machine: the commit (and whether the tree has uncommitted
changes), the CPU model and cores, RAM, kernel, Python, and the load average."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["commit", "cpu_model", "load_average", "now_utc", "ram_gib", "uncommitted_changes"]

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False).stdout.strip()


def commit() -> str:
    """The checkout's commit, short (``?`` outside a git checkout)."""
    return _git("rev-parse", "--short", "HEAD") or "?"


def uncommitted_changes() -> bool:
    """Whether tracked files differ from the commit."""
    return bool(_git("status", "--porcelain", "--untracked-files=no"))


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (the platform's processor name where it has none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ram_gib() -> float:
    """Total RAM in GiB (``MemTotal`` of ``/proc/meminfo``)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
