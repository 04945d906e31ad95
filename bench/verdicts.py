"""Issue 17's four targets, each judged from the figures the benchmarks wrote (pure).

The figures are the JSON documents of ``bench/openloop.py``, ``bench/load.py`` and ``bench/ingress_memory.py``
(``--json``). A target is *met* or *missed* by what was measured, and *not measured* when the run did not include
what it needs (a ``--quick`` run, or a benchmark that failed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLOSED_CONNECTIONS",
    "CLOSED_RATIO",
    "CPU_MS",
    "MEMORY_KB",
    "OVERHEAD_P99_MS",
    "OVERHEAD_RATE",
    "Verdict",
    "batch_gpt_cpu_ms",
    "closed_pairs",
    "role",
    "verdicts",
]

CLOSED_CONNECTIONS = (400, 1500, 5000)
CLOSED_RATIO = 1.25
OVERHEAD_RATE = 1000
OVERHEAD_P99_MS = 500.0
CPU_MS = 0.5
MEMORY_KB = 10.0

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, the figure measured, and whether that meets it (``None``: not measured)."""

    target: str
    measured: str
    met: bool | None

    @property
    def word(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else "missed"


def role(target_name: str) -> str:
    """``batch-gpt``, ``peer`` (``autobatcher serve``) or ``other``, from a target's name (``bench/targets.py``)."""
    if target_name.startswith("batch-gpt"):
        return "batch-gpt"
    if target_name.startswith("autobatcher"):
        return "peer"
    return "other"


def batch_gpt_cpu_ms(target: Document, rate: Document) -> float:
    """The CPU ms per request of a target's own processes at one rate (not the broker's or the simulator's)."""
    own = set(target["processes"])
    return sum(seconds for name, seconds in rate["cpu_per_1000"].items() if name in own)


def closed_pairs(closed: Document) -> list[tuple[Document, Document]]:
    """The closed loop's (batch-gpt, peer) rows at each connection count both were run at, in order."""
    by_connections: dict[int, dict[str, Document]] = {}
    for row in closed["rows"]:
        by_connections.setdefault(int(row["connections"]), {})[role(str(row["target"]))] = row
    return [
        (rows["batch-gpt"], rows["peer"])
        for _, rows in sorted(by_connections.items())
        if "batch-gpt" in rows and "peer" in rows
    ]


def _number(value: float) -> str:
    return f"{value:,.0f}"


def _closed(closed: Document | None) -> Verdict:
    """Judged at the target's connection counts only (a row at another count is in the table, not judged)."""
    target = (
        f"closed loop ≥ {CLOSED_RATIO}× `autobatcher serve` at "
        f"{' / '.join(_number(c) for c in CLOSED_CONNECTIONS)} connections, p99 no worse"
    )
    pairs = [pair for pair in closed_pairs(closed) if pair[0]["connections"] in CLOSED_CONNECTIONS] if closed else []
    parts, missed = [], False
    for ours, peer in pairs:
        ratio = ours["rps_median"] / peer["rps_median"] if peer["rps_median"] else math.nan
        worse = ours["p99_ms"] > peer["p99_ms"]
        faults = ours["non200"] + ours["crossed"]
        missed |= not ratio >= CLOSED_RATIO or worse or faults > 0
        part = f"{ratio:.2f}× at {_number(ours['connections'])}, p99 {'worse' if worse else 'no worse'}"
        if faults:
            part += f", {ours['non200']} non-200 and {ours['crossed']} crossed answers"
        parts.append(part)
    run = {int(ours["connections"]) for ours, _ in pairs}
    absent = [c for c in CLOSED_CONNECTIONS if c not in run]
    if absent:
        parts.append(f"not run at {', '.join(_number(c) for c in absent)}")
    return Verdict(target, "; ".join(parts), False if missed else None if absent else True)


def _batch_gpt(openloop: Document | None) -> Document | None:
    if openloop is None:
        return None
    return next((t for t in openloop["targets"] if role(str(t["name"])) == "batch-gpt"), None)


def _overhead(openloop: Document | None) -> Verdict:
    target = f"overhead p99 ≤ {OVERHEAD_P99_MS / 1000:g} s at {_number(OVERHEAD_RATE)} req/s"
    ours = _batch_gpt(openloop)
    rate = next((r for r in ours["rates"] if r["rate"] == OVERHEAD_RATE), None) if ours else None
    if rate is None:
        return Verdict(target, f"not run at {_number(OVERHEAD_RATE)} req/s", None)
    p99 = rate["overhead_ms"][1]
    measured = (
        f"{_number(p99)} ms (sent {_number(rate['sent_rps'])}/s; {rate['ok']:,} of {rate['sent']:,} answered, "
        f"{rate['errors']} errors, {rate['wrong']} wrong)"
    )
    answered = rate["ok"] == rate["sent"] and rate["sent_rps"] >= 0.95 * OVERHEAD_RATE
    return Verdict(target, measured, bool(p99 <= OVERHEAD_P99_MS and answered))


def _cpu(openloop: Document | None) -> Verdict:
    target = f"≤ {CPU_MS} ms of batch-gpt CPU per request in total, at every rate run"
    ours = _batch_gpt(openloop)
    if ours is None or not ours["rates"]:
        return Verdict(target, "not run", None)
    figures = [(rate["rate"], batch_gpt_cpu_ms(ours, rate)) for rate in ours["rates"]]
    measured = ", ".join(f"{ms:.2f} ms at {_number(rate)} req/s" for rate, ms in figures)
    return Verdict(target, measured, all(ms <= CPU_MS for _, ms in figures))


def _memory(memory: Document | None) -> Verdict:
    target = f"held-call memory ≤ {MEMORY_KB:g} KB"
    if memory is None:
        return Verdict(target, "not run", None)
    per_call = float(memory["per_call_kb"])
    return Verdict(target, f"{per_call:.2f} KB per held call ({memory['held_calls']:,.0f} held)", per_call <= MEMORY_KB)


def verdicts(openloop: Document | None, closed: Document | None, memory: Document | None) -> Sequence[Verdict]:
    """The four targets, in the issue's order."""
    return [_closed(closed), _overhead(openloop), _cpu(openloop), _memory(memory)]
