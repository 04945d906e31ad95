"""The composition root: ``create_app(settings)`` builds the ingress's parts and the FastAPI app over them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from ingress.dashboard.access import DashboardAccess
from ingress.http.anthropic_dialect import AnthropicDialect
from ingress.http.edge import EdgeMiddleware
from ingress.http.error_rendering import ErrorRenderer
from ingress.http.fast_path import FastPath
from ingress.http.fetching import FetchHandler
from ingress.http.layering import IngressAPI
from ingress.http.posting import PostHandler, PostLimits
from ingress.http.rendering import AnswerRenderer
from ingress.http.routes_batches import batches_router
from ingress.http.routes_completions import completions_router
from ingress.http.routes_dashboard import dashboard_router
from ingress.http.routes_health import health_router
from ingress.http.routes_models import models_router
from ingress.http.routes_webhooks import webhooks_router
from ingress.process.service import IngressService
from ingress.process.shared_metrics import SharedMetrics
from ingress.settings import IngressSettings

__all__ = ["create_app"]

_DESCRIPTION = (
    "OpenAI-compatible front of batch-gpt: chat completions, responses, completions, embeddings and "
    "moderations answered through the OpenAI Batch API at batch prices. Point an OpenAI client's `base_url` here."
)


def create_app(settings: IngressSettings, shared_metrics: SharedMetrics | None = None) -> FastAPI:
    """Build the ingress app (nothing connects until the lifespan starts).

    ``app.state.service`` is the :class:`IngressService`; ``app.state.drain.begin_drain()`` answers
    every held call with 202 (the server calls it on SIGTERM). ``shared_metrics``: the app is one of several
    worker processes, whose metrics its ``/metrics`` shows summed.
    """
    service = IngressService(settings, shared_metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    post = PostHandler(
        service.keys,
        service.submitter,
        service.metrics,
        PostLimits(settings.max_body_bytes, settings.max_wait_seconds, settings.cache, settings.deadlines_on),
    )
    fetch = FetchHandler(service.keys, service.records, service.holder, max_wait_seconds=settings.max_wait_seconds)
    answers = AnswerRenderer(
        service.holder, service.records, service.metrics, retry_after_seconds=settings.retry_after_seconds
    )
    errors = ErrorRenderer(service.metrics, retry_after_seconds=settings.retry_after_seconds)

    def outer(routed: ASGIApp) -> ASGIApp:
        # outermost first: /v1/messages's key header and error body; x-request-id and every error's answer; the
        # endpoint table's calls answered directly
        fast = FastPath(routed, post=post, fetch=fetch, answers=answers)
        return AnthropicDialect(EdgeMiddleware(fast, on_error=errors.render))

    app = IngressAPI(
        outer=outer,
        title="batch-gpt ingress",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        # our metrics are Prometheus at /metrics; FastAPI's OpenTelemetry hooks would only cost time per request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.service = service
    app.state.drain = service.drain
    errors.install(app)
    app.include_router(completions_router(post, fetch, answers))
    app.include_router(batches_router(service.engine, service.keys))
    app.include_router(models_router(service.models, service.keys, service.anthropic_models))
    app.include_router(health_router(service.readiness, service.metrics))
    admins = DashboardAccess(service.keys, (key.get_secret_value() for key in settings.admin_keys))
    app.include_router(dashboard_router(service.engine, admins, settings.price_table()))
    if settings.openai_webhook_secret is not None:  # unset: no route (404) and none in the OpenAPI document
        app.include_router(
            webhooks_router(
                settings.openai_webhook_secret, service.notices, service.metrics, max_body_bytes=settings.max_body_bytes
            )
        )
    return app
