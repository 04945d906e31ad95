"""Builds the upstream ``AsyncOpenAI`` client from ``OpenAISettings`` (the only place that does)."""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from batchgpt.settings import OpenAISettings

__all__ = ["make_openai_client"]


def make_openai_client(settings: OpenAISettings, **kwargs: Any) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` for the upstream Batch API, with the SDK's own retries off.

    The SDK sends no idempotency key, so its retry of an upload or create could duplicate a file or a
    batch. Callers retry themselves, after checking upstream for what already exists.

    :raises ValueError: ``OPENAI_API_KEY`` is not set.
    """
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if not key:
        raise ValueError("OPENAI_API_KEY is not set")
    return AsyncOpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        max_retries=0,
        timeout=settings.upstream_timeout_seconds,
        **kwargs,
    )
