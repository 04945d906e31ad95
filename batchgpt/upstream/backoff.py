"""The one backoff policy: how long to wait before retrying a failed call (pure: no I/O).

The rule, used for every retry in batch-gpt (the collator's submissions and its own database and Kafka
retries, the resolver's polls after an upstream error)::

    delay(n) = max(Retry-After, min(base * 2**(n-1), cap) * (1 - U(0, 0.25)))

Why this rule:

* **Exponential** from ``base``: a failing dependency (an overloaded upstream, a database failing over)
  gets more room to recover with every failure, instead of a steady stream of calls.
* **Capped** at ``cap``: the longest silence stays bounded, so recovery is noticed soon after it happens.
* **Jitter subtracts** (up to 25 %): one outage fails many batches and workers at the same instant; the
  jitter spreads their retries so they do not all come back in lockstep. Subtracting rather than adding
  keeps ``cap`` a true ceiling on our own guesses.
* **Retry-After is a floor, not capped**: it is the server saying when the call can succeed. Retrying
  sooner is a certain failure that loads an upstream which asked us to slow down, and in the collator it
  spends one of a batch's few submission attempts (turning a rate limit into an error reply). The cap bounds
  our guesses, not the server's instruction. A long hint is safe: the resolver only schedules its next poll
  later (it holds no lease while waiting), and the collator checks its lease before the next upstream
  write, so a lease that lapsed meanwhile hands the batch over cleanly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["JITTER", "Backoff"]

JITTER = 0.25
"""The largest share of the exponential delay the jitter takes off."""

_MAX_EXPONENT = 60  # 2**60 times any sane base is far above any cap: no float overflow after endless retries


@dataclass(frozen=True)
class Backoff:
    """The backoff policy with its two knobs: the first delay ``base_s`` and the ceiling ``cap_s``."""

    base_s: float
    cap_s: float

    def delay(self, attempt: int, *, retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 = the first call failed).

        ``retry_after_s`` is the server's ``Retry-After``: the delay is never shorter.
        """
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        nominal = min(self.base_s * (2.0**exponent), self.cap_s)
        delay = max(0.0, nominal * (1.0 - (rng or random).uniform(0.0, JITTER)))
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return delay
