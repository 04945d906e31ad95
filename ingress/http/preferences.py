"""What the caller asked for in its headers: ``Prefer`` (RFC 7240) and ``Cache-Control``. Pure."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WaitPreference", "bypasses_cache", "wait_preference"]


@dataclass(frozen=True, slots=True)
class WaitPreference:
    """How long to hold the call, and whether the caller asked for an immediate answer."""

    wait_seconds: float
    respond_async: bool


def wait_preference(
    prefer: str | None, max_wait_seconds: float, default_seconds: float | None = None
) -> WaitPreference:
    """Parse ``Prefer: respond-async, wait=N``; the wait never exceeds ``max_wait_seconds``.

    ``default_seconds`` (``max_wait_seconds`` when None) applies when no ``wait`` is given.
    """
    wait = max_wait_seconds if default_seconds is None else default_seconds
    respond_async = False
    for item in (prefer or "").split(","):
        token = item.split(";", 1)[0].strip()
        name, _, value = token.partition("=")
        name = name.strip().lower()
        if name == "respond-async":
            respond_async = True
        elif name == "wait":
            try:
                wait = float(value.strip().strip('"'))
            except ValueError:
                continue
    if respond_async:
        wait = 0.0
    return WaitPreference(wait_seconds=max(0.0, min(wait, max_wait_seconds)), respond_async=respond_async)


def bypasses_cache(cache_control: str | None) -> bool:
    """True for ``Cache-Control: no-cache`` (or ``no-store``): do not answer from a stored finished result."""
    directives = {part.split("=", 1)[0].strip().lower() for part in (cache_control or "").split(",")}
    return bool(directives & {"no-cache", "no-store"})
