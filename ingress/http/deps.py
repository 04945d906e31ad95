"""FastAPI dependencies: the runtime and the caller's tenant, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingress.process.service import IngressRuntime

__all__ = ["RuntimeDep", "TenantDep", "get_runtime", "get_tenant"]

_bearer = HTTPBearer(auto_error=False, description="A key from BATCHGPT_API_KEYS (any value when keys are off).")


async def get_runtime(request: Request) -> IngressRuntime:
    """The app's runtime (built by ``create_app``, started by its lifespan)."""
    runtime: IngressRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[IngressRuntime, Depends(get_runtime)]


async def get_tenant(
    request: Request,
    runtime: RuntimeDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Authenticate the caller; its tenant (``AuthenticationFailed`` → 401)."""
    return runtime.keys.authenticate(request.headers.get("authorization"))


TenantDep = Annotated[str, Depends(get_tenant)]
