"""Azure OpenAI's dialect of the simulator (``--dialect azure``): what differs from OpenAI's API.

* the API lives under ``/openai/v1/…`` (the same routers, mounted under :data:`API_PREFIX`);
* the key comes in the ``api-key`` header (:func:`presented_key`), and a refusal is Azure's 401 body;
* a resource holds at most ``file_quota`` (500) ``purpose=batch`` files without an expiry: the next upload
  without ``expires_after`` fails with Azure's 400 ``quotaExceeded`` (:func:`check_file_quota`), and such
  files never expire on their own;
* batches are never expired at 24 h: they run until done or cancelled (:func:`batch_deadline`);
* ``expires_after`` (upload) and ``output_expires_after`` (batch) take 14 to 30 days only
  (:func:`check_expiry`), where OpenAI takes one hour to 30 days.

Azure's error bodies carry only ``code`` and ``message`` (:class:`AzureError`); an injected HTTP fault is
answered that way too, its code the HTTP status unless the fault names one (:func:`in_azures_words`).
"""

from __future__ import annotations

import math

from starlette.datastructures import Headers

from batchgpt.simulator.errors import SimError, invalid_request
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.simulation import Simulation

__all__ = [
    "API_PREFIX",
    "AzureError",
    "batch_deadline",
    "check_expiry",
    "check_file_quota",
    "default_file_ttl",
    "in_azures_words",
    "is_azure",
    "presented_key",
    "unauthorized",
]

MIN_EXPIRY_SECONDS = 14 * 86400
MAX_EXPIRY_SECONDS = 30 * 86400
"""The expiries Azure accepts for batch input files and batch output (14 to 30 days)."""

API_PREFIX = "/openai"
"""The routers' ``/v1/…`` paths are served under this prefix: ``/openai/v1/files``, ``/openai/v1/batches``…"""


class AzureError(SimError):
    """An error in Azure's words: ``{"error": {"code", "message"}}``."""

    def body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


def is_azure(settings: SimulatorSettings) -> bool:
    """Whether the simulator speaks Azure's dialect."""
    return settings.dialect == "azure"


def presented_key(headers: Headers) -> str:
    """The key an Azure client presents: the ``api-key`` header (empty when missing)."""
    return headers.get("api-key", "").strip()


def unauthorized() -> AzureError:
    """Azure's 401 for a missing or refused ``api-key``."""
    return AzureError(
        401,
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
        "for an active subscription and use a correct regional API endpoint for your resource.",
        code="401",
    )


def check_file_quota(sim: Simulation, *, purpose: str, expires_after_seconds: int | None) -> None:
    """Refuse a ``purpose=batch`` upload without an expiry once ``file_quota`` such files are held."""
    if purpose != "batch" or expires_after_seconds is not None:
        return
    held = sum(1 for f in sim.store.files.values() if f.purpose == "batch" and f.expires_at is None)
    if held >= sim.settings.file_quota:
        raise AzureError(
            400,
            f"The quota for files without expiry is reached. The maximum is {sim.settings.file_quota}.",
            code="quotaExceeded",
        )


def default_file_ttl(settings: SimulatorSettings, purpose: str, openai_ttl_seconds: int) -> int | None:
    """How long an upload without ``expires_after`` lives: OpenAI's batch-file default; on Azure, for ever."""
    if is_azure(settings) or purpose != "batch":
        return None
    return openai_ttl_seconds


def batch_deadline(settings: SimulatorSettings, created_at: float) -> float:
    """When a new batch expires: after the completion window, or never on Azure."""
    return math.inf if is_azure(settings) else created_at + settings.completion_window_seconds


def check_expiry(settings: SimulatorSettings, seconds: int | None, *, param: str) -> None:
    """Refuse (400) an expiry Azure does not accept: shorter than 14 days (the upper bound is OpenAI's too)."""
    if seconds is None or not is_azure(settings) or seconds >= MIN_EXPIRY_SECONDS:
        return
    raise invalid_request(
        f"Invalid '{param}': seconds must be between {MIN_EXPIRY_SECONDS} and {MAX_EXPIRY_SECONDS} (14 to 30 days).",
        param=param,
        code="invalid_value",
    )


def in_azures_words(error: SimError) -> AzureError:
    """The same error as Azure words it: ``code`` is the HTTP status unless one was given; headers are kept."""
    code = error.code if error.code and error.code not in ("rate_limit_exceeded", "server_is_overloaded") else None
    return AzureError(error.status, error.message, code=code or str(error.status), headers=error.headers)
