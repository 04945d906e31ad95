"""FastAPI dependencies: the bearer scheme of the OpenAPI document and the caller's tenant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingress.http.auth import KeyRing

__all__ = ["BEARER", "tenant_dependency"]

BEARER = HTTPBearer(auto_error=False, description="A key from BATCHGPT_API_KEYS (any value when keys are off).")


def tenant_dependency(keys: KeyRing) -> Any:
    """A dependency giving the caller's tenant (``AuthenticationFailed`` → 401), authenticated by ``keys``."""

    async def tenant(
        request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> str:
        return keys.authenticate(request.headers.get("authorization"))

    return Depends(tenant)
