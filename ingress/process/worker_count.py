"""What ``BATCHGPT_INGRESS_WORKERS`` means: ``auto`` (one worker process per core this process may use, at
most :data:`MAX_AUTO_WORKERS`) or a number of processes."""

from __future__ import annotations

import os

__all__ = ["AUTO", "MAX_AUTO_WORKERS", "auto_worker_count", "usable_cores", "worker_count"]

AUTO = "auto"
MAX_AUTO_WORKERS = 8
"""``auto`` on a large machine: more workers than this only add reply listeners and database connections."""


def auto_worker_count(cores: int | None, cap: int = MAX_AUTO_WORKERS) -> int:
    """``auto`` for a process that may use ``cores`` cores (None: unknown, taken as one)."""
    return max(1, min(cap, cores or 1))


def usable_cores() -> int | None:
    """The cores this process may run on (its CPU affinity), else the machine's count (None when unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count()


def worker_count(value: object) -> object:
    """A setting's value with ``auto`` (any case) replaced by its number for this process; any other value is
    left for the field's own validation (an integer from 1 to 64)."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return auto_worker_count(usable_cores())
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(
            f"must be {AUTO} (one worker per usable core, at most {MAX_AUTO_WORKERS}) or a whole number from 1 to 64"
        )
    return value
