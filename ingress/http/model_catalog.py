"""The upstream's model list for ``GET /v1/models``, fetched through the upstream edge and kept for a while.

One fetch at a time: callers that arrive while the list is being fetched wait for that fetch. A fresh
list is kept ``BATCHGPT_MODELS_TTL_S`` seconds; when a refresh fails, the last list is served rather
than an error (the models of a provider rarely change), and only a catalog that never had a list
answers 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from batchgpt.upstream import Upstream, UpstreamError, UpstreamModel
from ingress.errors import NotFound, ServiceUnavailable

__all__ = ["ModelCatalog", "model_info", "model_info_page", "model_object"]

logger = logging.getLogger(__name__)


def model_object(model: UpstreamModel) -> dict[str, Any]:
    """OpenAI's ``Model`` object."""
    return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}


def model_info(model: UpstreamModel) -> dict[str, Any]:
    """Anthropic's ``ModelInfo`` (its ``created_at`` an RFC 3339 time; the id is the display name we know)."""
    created = datetime.fromtimestamp(model.created, tz=UTC).isoformat().replace("+00:00", "Z")
    return {"type": "model", "id": model.id, "display_name": model.id, "created_at": created}


def model_info_page(models: list[UpstreamModel]) -> dict[str, Any]:
    """Anthropic's ``GET /v1/models`` page: every model at once."""
    data = [model_info(m) for m in models]
    return {
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }


class ModelCatalog:
    """The models the upstream serves, cached for ``ttl_seconds``.

    ``make_upstream`` builds the upstream client on first use (None: no upstream is configured).
    """

    def __init__(
        self,
        make_upstream: Callable[[], Upstream | None],
        *,
        ttl_seconds: float,
        retry_after_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make_upstream = make_upstream
        self._upstream: Upstream | None = None
        self._ttl_seconds = ttl_seconds
        self._retry_after_seconds = retry_after_seconds
        self._clock = clock
        self._models: list[UpstreamModel] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def models(self) -> list[UpstreamModel]:
        """The upstream's models (from memory while fresh).

        :raises ServiceUnavailable: no upstream is configured, or it never answered.
        """
        if self._fresh():
            assert self._models is not None
            return self._models
        async with self._lock:
            if not self._fresh():
                await self._refresh()
        if self._models is None:
            why = "right now" if self._upstream is not None else "(no upstream provider is configured)"
            raise ServiceUnavailable(
                f"The model list is unavailable {why}. Please try again shortly.",
                retry_after_seconds=self._retry_after_seconds,
            )
        return self._models

    async def model(self, model_id: str) -> UpstreamModel:
        """One model by id.

        :raises NotFound: the upstream does not list it.
        """
        for model in await self.models():
            if model.id == model_id:
                return model
        raise NotFound(
            f"The model '{model_id}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )

    def _fresh(self) -> bool:
        return self._models is not None and self._clock() - self._fetched_at < self._ttl_seconds

    async def _refresh(self) -> None:
        if self._upstream is None:
            self._upstream = self._make_upstream()
        if self._upstream is None:
            return
        try:
            self._models = await self._upstream.models()
        except UpstreamError as exc:
            logger.warning("could not list the upstream's models", extra={"error": str(exc)})
            return
        self._fetched_at = self._clock()

    async def close(self) -> None:
        """Release the upstream client, if one was made."""
        if self._upstream is not None:
            await self._upstream.close()
