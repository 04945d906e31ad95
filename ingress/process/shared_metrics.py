"""The ingress's metrics summed over its worker processes (prometheus_client's multiprocess mode).

A scrape of ``/metrics`` reaches one worker, whichever the kernel gives the connection to; it must still show
the whole ingress. With several workers, the parent makes a fresh, empty directory for the run
(:meth:`MetricsDir.fresh`); each worker, right after the fork and before its app builds a metric, switches
prometheus_client to values kept in files of that directory, one set per pid (:meth:`MetricsDir.join`); and
any worker's ``/metrics`` reads every worker's files (:meth:`SharedMetrics.exposition`): counters and
histograms are summed, gauges as their ``multiprocess_mode`` says (``livesum``: the sum over the live workers).

When the parent reaps a worker it calls :meth:`MetricsDir.forget`: the dead worker's live gauges go (its held
calls are no longer held); its counters stay, so that no counter goes backwards because a worker died. The
parent removes the directory when it exits (a SIGKILLed parent leaves it in the temporary directory).

With one worker nothing of this runs: the app's metrics stay on its own in-process registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = ["MetricsDir", "SharedMetrics"]

# prometheus_client's multiprocess functions carry no annotations: their calls below are marked for mypy
_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""Read by prometheus_client each time it creates a metric's value in multiprocess mode."""


class SharedMetrics:
    """A worker's view of the run's metrics directory: every worker's metrics in one exposition."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exposition(self) -> bytes:
        """The Prometheus text of every worker's metrics (a fresh registry per scrape, as prometheus_client
        documents for multiprocess mode)."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.path))  # type: ignore[no-untyped-call]
        return generate_latest(registry)


class MetricsDir:
    """The run's metrics directory, as the supervising parent holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    @contextlib.contextmanager
    def fresh(cls, port: int) -> Iterator[MetricsDir]:
        """A new, empty directory under the temporary directory for the run on ``port``; removed at the end."""
        path = Path(tempfile.mkdtemp(prefix=f"batchgpt-ingress-{port}-{os.getpid()}-metrics-"))
        try:
            yield cls(path)
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def join(self) -> SharedMetrics:
        """In a freshly forked worker, before any metric is built: this process's metric values go to files of
        its own pid in the directory. Call once per worker process."""
        os.environ[_DIR_VARIABLE] = str(self.path)
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        return SharedMetrics(self.path)

    def forget(self, pid: int) -> None:
        """In the parent, once worker ``pid`` is reaped: drop its live gauges (its counters stay)."""
        mark_process_dead(pid, str(self.path))  # type: ignore[no-untyped-call]
