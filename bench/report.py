"""What a fault benchmark prints: the run's conditions, then the callers' and the upstream's figures."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchgpt.settings import env_names, load_settings
from bench import machine
from bench.callers import Callers
from bench.figures import Window, percentile, recovery_s

__all__ = ["FaultWindow", "conditions", "lease_settings", "print_figures", "write_calls"]


@dataclass(frozen=True)
class FaultWindow:
    """A fault that happened: what, and its window (monotonic seconds)."""

    kind: str
    window: Window


def conditions() -> str:
    """The commit, the machine and its load average, for the figures' heading."""
    load = " ".join(f"{x:.2f}" for x in machine.load_average())
    return f"commit {machine.commit()}, {os.cpu_count()} cores, load average {load}"


def lease_settings(env: Mapping[str, str]) -> list[str]:
    """``VARIABLE=value`` of every lease, heartbeat, sweep and group session setting of the collator and the
    resolver, as the stack's environment makes them (their defaults where it sets none): what bounds a recovery."""
    from collator.settings import CollatorSettings
    from resolver.settings import ResolverSettings

    lines = []
    for cls in (CollatorSettings, ResolverSettings):
        settings = load_settings(cls, environ=env)
        for name, variable in env_names(cls).items():
            if any(word in name for word in ("lease", "heartbeat", "sweep", "session")):
                lines.append(f"{variable}={getattr(settings, name)}")
    return lines


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def print_figures(callers: Callers, stats: Mapping[str, Any], faults: Sequence[FaultWindow]) -> None:
    """Print what the callers got, what the upstream saw, and each fault's recovery."""
    calls = len(callers.records)
    latencies = [r.answered_at - r.sent_at for r in callers.answered if r.answered_at is not None]
    errors = Counter(r.error.split(":")[0] for r in callers.failed if r.error is not None)
    print(f"calls sent             {calls}")
    wrong = sum(r.wrong for r in callers.records)
    print(f"answered               {len(callers.answered)} ({wrong} with a wrong answer)")
    print(f"unanswered             {len(callers.unanswered)}")
    print(f"errors after retries   {len(callers.failed)} {dict(errors) if errors else ''}")
    if callers.failed:
        sent = [r.sent_at - callers.started_at for r in callers.failed]
        print(f"  their calls sent       from {min(sent):.1f} s to {max(sent):.1f} s")
    print(f"lines upstream         {stats['lines_submitted']} in {stats['batches']} batches")
    print(f"duplicates upstream    {len(stats['duplicate_custom_ids'])} custom_ids sent twice")
    seen = ", ".join(f"{status}: {n}" for status, n in sorted(callers.statuses.items()))
    print(f"HTTP statuses seen     {seen} (of {callers.attempts} attempts; {callers.no_http_answer} without an answer)")
    print(
        f"latency                p50 {percentile(latencies, 50):.1f} s, p99 {percentile(latencies, 99):.1f} s, "
        f"max {max(latencies, default=float('nan')):.1f} s"
    )
    timings = [r.timing for r in callers.records]
    recoveries = []
    for fault in faults:
        start, end = fault.window.start - callers.started_at, fault.window.end - callers.started_at
        recovery = recovery_s(fault.window, timings)
        recoveries.append(recovery)
        print(f"fault                  {fault.kind} at {start:.1f} s, back at {end:.1f} s: ", end="")
        print(f"recovered in {_seconds(recovery)}")
    if recoveries:
        longest = None if None in recoveries else max(r for r in recoveries if r is not None)
        print(f"longest recovery       {_seconds(longest)}")


def write_calls(callers: Callers, path: Path) -> None:
    """One CSV row per call: seconds from the start to its send and its end, and how it ended."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["call", "model", "sent_s", "ended_s", "outcome"])
        for i, r in enumerate(callers.records):
            ended = "" if r.ended_at is None else f"{r.ended_at - callers.started_at:.3f}"
            outcome = r.error or ("wrong" if r.wrong else "answered" if r.answered_at is not None else "unanswered")
            writer.writerow([i, r.body["model"], f"{r.sent_at - callers.started_at:.3f}", ended, outcome])
