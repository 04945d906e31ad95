"""The composition root: ``create_app(settings)`` builds the FastAPI app; its lifespan starts the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ingress.http import routes_batches, routes_completions, routes_health
from ingress.http.edge import EdgeMiddleware
from ingress.http.error_rendering import install_error_handlers, render_unexpected
from ingress.http.fast_path import HotRoutes
from ingress.process.service import IngressRuntime
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

    app = FastAPI(
        title="batch-gpt ingress",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        # our metrics are Prometheus at /metrics; FastAPI's OpenTelemetry hooks would only cost time per request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(HotRoutes, runtime=runtime)  # inside EdgeMiddleware (the last one added is outermost)
    app.add_middleware(EdgeMiddleware, on_error=lambda scope, exc: render_unexpected(runtime, scope, exc))
    app.include_router(routes_completions.router)
    app.include_router(routes_batches.router)
    app.include_router(routes_health.router)
    return app
