"""Fault injection: fault specs (armed at start or by ``POST /_sim/faults``) and the book spending them.

Four kinds, each armed for the next ``count`` matching events:

* ``http_error``: the next calls to ``route`` (``files.create``, ``batches.create``, ..., or ``*``)
  answer ``status`` with OpenAI's error envelope; ``retry_after_seconds`` adds ``retry-after`` and
  ``retry-after-ms`` headers (the SDK honours them up to 120 s).
* ``batch``: the next created batches get an ``outcome``: ``fail_validation``, ``token_limit_exceeded``,
  ``expire`` (expires once ``fraction`` of its processing time has passed, with partial results) or
  ``cancel`` (cancelled by the "system" at that point, with partial results).
* ``slow_download``: the next file-content downloads wait ``delay_seconds`` first.
* ``slow_call``: the next calls to ``route`` (or ``*``) wait ``delay_seconds`` before they are handled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

__all__ = [
    "BatchFault",
    "FaultBook",
    "FaultSpec",
    "HttpFault",
    "ROUTES",
    "SlowCallFault",
    "SlowDownloadFault",
    "parse_fault",
]

ROUTES: tuple[str, ...] = (  # the route names also used by the stats
    "files.create",
    "files.list",
    "files.retrieve",
    "files.content",
    "files.delete",
    "batches.create",
    "batches.retrieve",
    "batches.cancel",
    "batches.list",
    "chat.completions",
    "responses",
    "completions",
    "embeddings",
    "moderations",
    "models.list",
    "models.retrieve",
    "messages",
    "messages.batches.create",
    "messages.batches.retrieve",
    "messages.batches.list",
    "messages.batches.cancel",
    "messages.batches.delete",
    "messages.batches.results",
)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(default=1, ge=1)
    """How many matching events this fault affects."""


class _RouteSpec(_Spec):
    route: str = "*"
    """The route the fault applies to (``*``: any)."""

    @field_validator("route")
    @classmethod
    def _known_route(cls, value: str) -> str:
        if value != "*" and value not in ROUTES:
            raise ValueError(f"unknown route {value!r}; expected '*' or one of {', '.join(ROUTES)}")
        return value


class HttpFault(_RouteSpec):
    """The next ``count`` calls to ``route`` fail with ``status``."""

    kind: Literal["http_error"] = "http_error"
    status: int = Field(default=500, ge=400, le=599)
    retry_after_seconds: float | None = Field(default=None, ge=0)
    message: str | None = None
    code: str | None = None


class BatchFault(_Spec):
    """The next ``count`` created batches end in ``outcome``."""

    kind: Literal["batch"] = "batch"
    outcome: Literal["fail_validation", "token_limit_exceeded", "expire", "cancel"]
    fraction: float = Field(default=0.5, ge=0, le=1)
    """For ``expire``/``cancel``: the share of the processing time that passes before it happens."""
    code: str = "invalid_request"
    """For ``fail_validation``: the ``errors.data`` code."""
    message: str = "Simulated validation failure (fault injection)."
    """For ``fail_validation``: the ``errors.data`` message."""


class SlowDownloadFault(_Spec):
    """The next ``count`` file-content downloads wait ``delay_seconds`` before answering."""

    kind: Literal["slow_download"] = "slow_download"
    delay_seconds: float = Field(default=1.0, ge=0)


class SlowCallFault(_RouteSpec):
    """The next ``count`` calls to ``route`` wait ``delay_seconds`` before they are handled (a slow upstream)."""

    kind: Literal["slow_call"] = "slow_call"
    delay_seconds: float = Field(default=1.0, ge=0)


FaultSpec = Annotated[HttpFault | BatchFault | SlowDownloadFault | SlowCallFault, Field(discriminator="kind")]

_AnyFault = HttpFault | BatchFault | SlowDownloadFault | SlowCallFault
_ADAPTER: TypeAdapter[_AnyFault] = TypeAdapter(FaultSpec)


def parse_fault(raw: object) -> _AnyFault:
    """Validate one fault spec given as a dict (raises ``pydantic.ValidationError``)."""
    return _ADAPTER.validate_python(raw)


@dataclass
class _Armed:
    spec: _AnyFault
    remaining: int


@dataclass
class FaultBook:
    """Armed faults, spent first-armed-first, and how many fired."""

    _armed: list[_Armed] = field(default_factory=list)
    fired: int = 0

    def arm(self, spec: _AnyFault) -> None:
        """Add a fault; it fires for the next ``spec.count`` matching events."""
        self._armed.append(_Armed(spec=spec, remaining=spec.count))

    def clear(self) -> None:
        """Disarm everything."""
        self._armed.clear()

    def pending(self) -> list[dict[str, object]]:
        """The armed faults with their remaining counts, as JSON-ready dicts."""
        return [{**a.spec.model_dump(), "remaining": a.remaining} for a in self._armed]

    def take_http(self, route: str) -> HttpFault | None:
        """Spend one HTTP fault matching ``route``, if any."""
        spec = self._take(lambda s: isinstance(s, HttpFault) and s.route in (route, "*"))
        return spec if isinstance(spec, HttpFault) else None

    def take_batch(self) -> BatchFault | None:
        """Spend one batch-outcome fault, if any."""
        spec = self._take(lambda s: isinstance(s, BatchFault))
        return spec if isinstance(spec, BatchFault) else None

    def take_download_delay(self) -> float:
        """Spend one slow-download fault and return its delay (0 when none is armed)."""
        spec = self._take(lambda s: isinstance(s, SlowDownloadFault))
        return spec.delay_seconds if isinstance(spec, SlowDownloadFault) else 0.0

    def take_call_delay(self, route: str) -> float:
        """Spend one slow-call fault matching ``route`` and return its delay (0 when none is armed)."""
        spec = self._take(lambda s: isinstance(s, SlowCallFault) and s.route in (route, "*"))
        return spec.delay_seconds if isinstance(spec, SlowCallFault) else 0.0

    def _take(self, match: Callable[[_AnyFault], bool]) -> _AnyFault | None:
        for armed in self._armed:
            if match(armed.spec):
                armed.remaining -= 1
                if armed.remaining <= 0:
                    self._armed.remove(armed)
                self.fired += 1
                return armed.spec
        return None
