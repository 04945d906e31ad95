"""The composition root: ``create_app(settings)`` builds the FastAPI app around one ``Simulation``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batchgpt.simulator import (
    routes_admin,
    routes_batches,
    routes_files,
    routes_messages,
    routes_models,
    routes_sync,
)
from batchgpt.simulator.anthropic_errors import is_anthropic_path
from batchgpt.simulator.azure import API_PREFIX, is_azure
from batchgpt.simulator.clock import Clock
from batchgpt.simulator.error_handlers import install_error_handlers
from batchgpt.simulator.ids import new_request_id
from batchgpt.simulator.settings import SimulatorSettings
from batchgpt.simulator.simulation import Simulation
from batchgpt.simulator.webhooks import WebhookSender

__all__ = ["create_app"]


class _RequestIds:
    """ASGI middleware giving every response an ``x-request-id`` header (Anthropic routes: ``request-id`` too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        names = [b"x-request-id", b"request-id"] if is_anthropic_path(scope["path"]) else [b"x-request-id"]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend((name, request_id.encode()) for name in names)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: SimulatorSettings, *, clock: Clock | None = None) -> FastAPI:
    """Build the simulator app; state lives in ``app.state.simulation`` (loaded from ``state_dir`` if set)."""
    simulation = Simulation(settings, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """With ``webhook_url`` set, announce each batch's end while the app serves."""
        if settings.webhook_url is None or settings.webhook_secret is None:
            yield
            return
        sender = WebhookSender(simulation, url=settings.webhook_url, secret=settings.webhook_secret)
        task = asyncio.create_task(sender.run(), name="simulator-webhooks")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="batch-gpt simulator",
        description="A local stand-in for OpenAI's Files + Batches API, its batchable endpoints, and Anthropic's "
        "Messages and Message Batches API.",
        docs_url="/_sim/docs",
        redoc_url=None,
        openapi_url="/_sim/openapi.json",
        lifespan=lifespan,
    )
    app.state.simulation = simulation
    install_error_handlers(app)
    api_prefix = API_PREFIX if is_azure(settings) else ""  # Azure: the same API under /openai/v1
    for module in (routes_files, routes_batches, routes_sync, routes_models, routes_admin):
        app.include_router(module.router, prefix="" if module is routes_admin else api_prefix)
    app.include_router(routes_messages.router)  # Anthropic's API, beside OpenAI's (or Azure's) in every dialect
    app.add_middleware(_RequestIds)
    return app
