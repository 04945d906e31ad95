"""Who sees what on the dashboard: a client key sees its own tenant, an administrator key every tenant. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ingress.http.auth import KeyRing

__all__ = ["DashboardAccess", "View"]


@dataclass(frozen=True, slots=True)
class View:
    """What one caller may see: ``tenant``'s data, or every tenant's when ``tenant`` is ``None``."""

    tenant: str | None

    @property
    def scope(self) -> str:
        return "all" if self.tenant is None else "tenant"


class DashboardAccess:
    """Authenticates dashboard callers: a key of ``admin_keys`` sees all, any other goes through ``keys``."""

    def __init__(self, keys: KeyRing, admin_keys: Iterable[str]) -> None:
        self._keys = keys
        self._admins = frozenset(hashlib.sha256(k.encode()).digest() for k in admin_keys)

    def view(self, authorization: str | None) -> View:
        """The caller's view (``AuthenticationFailed`` for a missing or unknown key when keys are configured)."""
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() == "bearer" and key and hashlib.sha256(key.encode()).digest() in self._admins:
            return View(tenant=None)
        return View(tenant=self._keys.authenticate(authorization))
