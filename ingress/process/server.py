"""A uvicorn server that drains the ingress first on SIGTERM/SIGINT: held calls get 202 with their id."""

from __future__ import annotations

import asyncio
from types import FrameType

import uvicorn

from ingress.process.drain import Drain

__all__ = ["DrainingServer"]


class DrainingServer(uvicorn.Server):
    """``uvicorn.Server`` whose exit signal first releases every held call, then shuts down gracefully."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self._drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        """Remember the loop the server runs on, then serve."""
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Drain (answer held calls with 202), then let uvicorn stop accepting and finish."""
        if self._loop is not None and not self._drain.draining:
            self._loop.call_soon_threadsafe(self._drain.begin_drain)
        super().handle_exit(sig, frame)
