"""The composition root: ``create_app(settings)`` builds the FastAPI app; its lifespan starts the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ingress import routes_batches, routes_completions, routes_health
from ingress.error_handlers import install_error_handlers
from ingress.middleware import EdgeMiddleware
from ingress.runtime import IngressRuntime
from ingress.settings import IngressSettings

__all__ = ["create_app"]

_DESCRIPTION = (
    "OpenAI-compatible front of batch-gpt: chat completions and embeddings answered through the OpenAI "
    "Batch API at batch prices. Point an OpenAI client's `base_url` here."
)


def create_app(settings: IngressSettings) -> FastAPI:
    """Build the ingress app (nothing connects until the lifespan starts).

    The runtime is ``app.state.runtime``; ``app.state.runtime.begin_drain()`` answers every held call
    with 202 (the server calls it on SIGTERM).
    """
    runtime = IngressRuntime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="batch-gpt ingress", version="0.1.0", description=_DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware)
    app.include_router(routes_completions.router)
    app.include_router(routes_batches.router)
    app.include_router(routes_health.router)
    return app
