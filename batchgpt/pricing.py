"""Synchronous list prices per model and the saving the Batch API (50 % off) brings.

Prices are USD per 1M tokens for the synchronous endpoints, as published by OpenAI in 2025-2026
(standard tier, uncached input). They are an estimate for dashboards, not a bill: unknown models get
no estimate (``None``), and dated snapshots (``gpt-4o-2024-08-06``) use their family's price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BATCH_DISCOUNT", "PRICES_PER_MILLION", "ModelPrice", "SavingEstimate", "estimate_saving", "price_for"]

BATCH_DISCOUNT = 0.5
"""Batch API price as a fraction of the synchronous price."""


@dataclass(frozen=True)
class ModelPrice:
    """Synchronous USD per 1M input and output tokens."""

    input_per_million: float
    output_per_million: float


PRICES_PER_MILLION: dict[str, ModelPrice] = {
    "gpt-5": ModelPrice(1.25, 10.00),
    "gpt-5-mini": ModelPrice(0.25, 2.00),
    "gpt-5-nano": ModelPrice(0.05, 0.40),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "o3": ModelPrice(2.00, 8.00),
    "o4-mini": ModelPrice(1.10, 4.40),
    "o1": ModelPrice(15.00, 60.00),
    "text-embedding-3-small": ModelPrice(0.02, 0.0),
    "text-embedding-3-large": ModelPrice(0.13, 0.0),
    "text-embedding-ada-002": ModelPrice(0.10, 0.0),
}

_SNAPSHOT = re.compile(r"^-\d{4}-\d{2}-\d{2}$|^-\d{4}$")


@dataclass(frozen=True)
class SavingEstimate:
    """What a batch's tokens would have cost synchronously, what they cost batched, and the difference (USD)."""

    synchronous_usd: float
    batch_usd: float

    @property
    def saving_usd(self) -> float:
        """Synchronous minus batch cost."""
        return self.synchronous_usd - self.batch_usd


def price_for(model: str) -> ModelPrice | None:
    """The model's synchronous price, matching dated snapshots to their family; ``None`` if unknown."""
    if model in PRICES_PER_MILLION:
        return PRICES_PER_MILLION[model]
    for name in sorted(PRICES_PER_MILLION, key=len, reverse=True):
        if model.startswith(name) and _SNAPSHOT.match(model[len(name) :]):
            return PRICES_PER_MILLION[name]
    return None


def estimate_saving(model: str, input_tokens: int, output_tokens: int) -> SavingEstimate | None:
    """Estimated synchronous and batch cost of the tokens; ``None`` for a model without a known price."""
    price = price_for(model)
    if price is None:
        return None
    sync = (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000
    return SavingEstimate(synchronous_usd=sync, batch_usd=sync * BATCH_DISCOUNT)
