"""API keys -> tenants. A tenant is a stable short hash of the key; ``"default"`` when keys are off. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ingress.errors import AuthenticationFailed

__all__ = ["DEFAULT_TENANT", "KeyRing", "tenant_of"]

DEFAULT_TENANT = "default"


def tenant_of(api_key: str) -> str:
    """The tenant id of a key: ``t_`` + 16 hex digits of its sha256 (the key itself is never stored)."""
    return "t_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class KeyRing:
    """The configured client keys; authenticates ``Authorization`` headers."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._tenants = {hashlib.sha256(k.encode()).digest(): tenant_of(k) for k in keys}

    @property
    def open(self) -> bool:
        """True when no keys are configured (every caller is the default tenant)."""
        return not self._tenants

    def authenticate(self, authorization: str | None) -> str:
        """Return the caller's tenant or raise :class:`AuthenticationFailed` (message never echoes the key)."""
        if self.open:
            return DEFAULT_TENANT
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationFailed(
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                reason="missing_api_key",
            )
        tenant = self._tenants.get(hashlib.sha256(key.encode()).digest())
        if tenant is None:
            raise AuthenticationFailed(
                "Incorrect API key provided. You can find the keys this service accepts with its operator.",
                code="invalid_api_key",
            )
        return tenant
