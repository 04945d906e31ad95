"""Prices per model, what tokens cost answered synchronously and batched, and the saving between the two.

The built-in prices are USD per 1M tokens for the synchronous endpoints, as published by OpenAI in
2025-2026 (standard tier, uncached input); a batched token costs ``batch_discount`` (0.5) of that. A
deployment adds models and negotiated rates with a price file (``BATCHGPT_PRICES_FILE``, JSON or TOML,
read by :func:`load_price_table`, validated at start)::

    batch_discount = 0.5                       # optional: batch price as a fraction of the synchronous one
    [models."my-finetune"]
    input = 3.0                                # synchronous USD per 1M input tokens
    output = 12.0                              # synchronous USD per 1M output tokens
    batch_input = 1.2                          # optional: a negotiated batch rate (else input * batch_discount)
    batch_output = 4.8                         # optional

The file's models replace or add to the built-in ones. Costs are an estimate for dashboards, not a bill:
unknown models get none (``None``), and dated snapshots (``gpt-4o-2024-08-06``) use their family's price.

How a request was answered decides what it cost (``answered_by``): ``batch`` and ``flex`` at the batch
price (flex processing is billed at batch rates), ``sync`` (a deadline's synchronous fallback) at the full
price, so it saves nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "BATCH_DISCOUNT",
    "DEFAULT_PRICES",
    "PRICES_PER_MILLION",
    "ModelPrice",
    "PriceTable",
    "SavingEstimate",
    "estimate_saving",
    "load_price_table",
    "price_for",
]

BATCH_DISCOUNT = 0.5
"""Batch API price as a fraction of the synchronous price."""


@dataclass(frozen=True)
class ModelPrice:
    """Synchronous USD per 1M input and output tokens, and the batch rates when they are not the discount's."""

    input_per_million: float
    output_per_million: float
    batch_input_per_million: float | None = None
    batch_output_per_million: float | None = None


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
    "claude-opus-4-1": ModelPrice(15.00, 75.00),
    "claude-sonnet-4-5": ModelPrice(3.00, 15.00),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00),
}

_SNAPSHOT = re.compile(r"^-\d{4}-\d{2}-\d{2}$|^-\d{4}$|^-\d{8}$")

ANSWERED_AT_FULL_PRICE = frozenset({"sync"})
"""The ``answered_by`` values whose tokens cost the synchronous price."""


@dataclass(frozen=True)
class SavingEstimate:
    """What tokens would have cost synchronously, what they cost as answered, and the difference (USD)."""

    synchronous_usd: float
    batch_usd: float

    @property
    def saving_usd(self) -> float:
        """Synchronous minus batch cost."""
        return self.synchronous_usd - self.batch_usd


@dataclass(frozen=True)
class PriceTable:
    """Prices per model (USD per 1M tokens) and the batch discount."""

    prices: Mapping[str, ModelPrice] = field(default_factory=lambda: dict(PRICES_PER_MILLION))
    batch_discount: float = BATCH_DISCOUNT

    def price_for(self, model: str) -> ModelPrice | None:
        """The model's price, matching dated snapshots to their family; ``None`` if unknown."""
        if model in self.prices:
            return self.prices[model]
        for name in sorted(self.prices, key=len, reverse=True):
            if model.startswith(name) and _SNAPSHOT.match(model[len(name) :]):
                return self.prices[name]
        return None

    def costs(
        self, model: str, input_tokens: int, output_tokens: int, *, answered_by: str = "batch"
    ) -> SavingEstimate | None:
        """Synchronous cost of the tokens and their cost as answered (``answered_by``); ``None``: unknown model."""
        price = self.price_for(model)
        if price is None:
            return None
        sync = (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000
        if answered_by in ANSWERED_AT_FULL_PRICE:
            return SavingEstimate(synchronous_usd=sync, batch_usd=sync)
        batch_in = price.batch_input_per_million
        batch_out = price.batch_output_per_million
        batch = (
            input_tokens * (batch_in if batch_in is not None else price.input_per_million * self.batch_discount)
            + output_tokens * (batch_out if batch_out is not None else price.output_per_million * self.batch_discount)
        ) / 1_000_000
        return SavingEstimate(synchronous_usd=sync, batch_usd=batch)


DEFAULT_PRICES = PriceTable()
"""The built-in prices, without a deployment's price file."""


def price_for(model: str) -> ModelPrice | None:
    """The model's built-in synchronous price; ``None`` if unknown."""
    return DEFAULT_PRICES.price_for(model)


def estimate_saving(model: str, input_tokens: int, output_tokens: int) -> SavingEstimate | None:
    """Built-in synchronous and batch cost of the tokens; ``None`` for a model without a known price."""
    return DEFAULT_PRICES.costs(model, input_tokens, output_tokens)


class _FilePrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(default=0.0, ge=0)
    batch_input: float | None = Field(default=None, ge=0)
    batch_output: float | None = Field(default=None, ge=0)


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_discount: float = Field(default=BATCH_DISCOUNT, gt=0, le=1)
    models: dict[str, _FilePrice] = Field(default_factory=dict)


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        return tomllib.loads(text)
    return json.loads(text)


def load_price_table(path: Path) -> PriceTable:
    """The built-in prices with the file's models and discount over them.

    :raises ValueError: the file cannot be read, is not JSON/TOML, or does not have the documented shape.
    """
    try:
        parsed = _PriceFile.model_validate(_read(path))
    except OSError as exc:
        raise ValueError(f"cannot read the price file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"the price file {path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the price file {path} is invalid: {problems}") from None
    prices = dict(PRICES_PER_MILLION)
    for name, price in parsed.models.items():
        prices[name] = ModelPrice(price.input, price.output, price.batch_input, price.batch_output)
    return PriceTable(prices=prices, batch_discount=parsed.batch_discount)
