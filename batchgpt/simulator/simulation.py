"""The ``Simulation``: the one object holding the state (settings, clock, store, faults, counters)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from batchgpt.simulator.clock import Clock
from batchgpt.simulator.errors import invalid_request
from batchgpt.simulator.faults import FaultBook
from batchgpt.simulator.settings import LIVE_FIELDS, SimulatorSettings
from batchgpt.simulator.stats import CallStats
from batchgpt.simulator.store import Store

__all__ = ["Simulation"]


class Simulation:
    """State shared by every route; built once by ``create_app``."""

    def __init__(self, settings: SimulatorSettings, *, clock: Clock | None = None) -> None:
        self.initial_settings = settings
        self.settings = settings
        self.clock = clock or Clock()
        self.store = Store(settings.state_dir)
        self.faults = FaultBook()
        for spec in settings.faults:
            self.faults.arm(spec)
        self.calls = CallStats()

    def model_known(self, model: str) -> bool:
        """Whether ``model`` is accepted (known, or any model when configured so)."""
        return self.settings.accept_any_model or model in self.settings.known_models

    def anthropic_model_known(self, model: str) -> bool:
        """Whether the Anthropic routes accept ``model`` (known, or any model when configured so)."""
        return self.settings.accept_any_model or model in self.settings.anthropic_models

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change live settings (``LIVE_FIELDS`` only) and return them; a 400 ``SimError`` on bad input."""
        unknown = sorted(set(changes) - LIVE_FIELDS)
        if unknown:
            raise invalid_request(
                f"Not adjustable while running: {', '.join(unknown)}. Adjustable: {', '.join(sorted(LIVE_FIELDS))}.",
                param=unknown[0],
                code="invalid_value",
            )
        try:
            self.settings = self.settings.model_validate({**self.settings.model_dump(), **changes})
        except ValidationError as error:
            first = error.errors()[0]
            param = ".".join(str(part) for part in first["loc"])
            raise invalid_request(f"Invalid value for '{param}': {first['msg']}.", param=param) from error
        return self.live_config()

    def live_config(self) -> dict[str, Any]:
        """The adjustable settings and their current values."""
        dumped = self.settings.model_dump(mode="json")
        return {name: dumped[name] for name in sorted(LIVE_FIELDS)}

    def reset(self) -> None:
        """Back to a blank simulator: no files, batches, faults or counts; start-up settings; real time."""
        self.store.clear()
        self.faults.clear()
        self.faults.fired = 0
        self.calls.clear()
        self.settings = self.initial_settings
        self.clock.offset_seconds = 0.0
