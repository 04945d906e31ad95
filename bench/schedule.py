"""Seeded fault moments for the fault benchmarks: the same seed and run length replay the same schedule."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Fault", "schedule_faults"]


@dataclass(frozen=True)
class Fault:
    """One fault (``kind``, e.g. ``"kill collator"``) at ``at_s`` seconds after the first call was sent."""

    kind: str
    at_s: float


def schedule_faults(
    seed: str, kinds: Sequence[str], send_s: float, *, earliest: float = 0.2, latest: float = 0.7
) -> list[Fault]:
    """One moment per kind, drawn uniformly between ``earliest`` and ``latest`` of the sending time ``send_s``
    (mid-run: callers are still sending before and after), in the order they happen."""
    if not 0 <= earliest <= latest <= 1:
        raise ValueError(f"need 0 <= earliest <= latest <= 1, got {earliest} and {latest}")
    rng = random.Random(f"{seed}:{','.join(kinds)}")
    faults = [Fault(kind, round(rng.uniform(earliest, latest) * send_s, 3)) for kind in kinds]
    return sorted(faults, key=lambda fault: fault.at_s)
