"""Builds the upstream ``AsyncOpenAI`` client from ``OpenAISettings`` (the only place that does), for OpenAI or
for Azure OpenAI's v1 API.

Azure OpenAI's v1 API (``{endpoint}/openai/v1``) is OpenAI's own surface: the same paths, bodies and objects,
no ``api-version`` and no ``/deployments/`` paths. So Azure gets the plain ``AsyncOpenAI`` client pointed at
that base URL, with the key in Azure's ``api-key`` header, and the same :class:`OpenAIUpstream` code and SDK
types as OpenAI. (The SDK's ``AsyncAzureOpenAI`` insists on an ``api-version`` query parameter, which the v1
API does not use, and rewrites some paths into ``/deployments/{model}``.) The client also sends the key as its
Bearer token, which the v1 API accepts as well (Microsoft's v1 examples use exactly that client).
"""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from batchgpt.settings import OpenAISettings

__all__ = ["AZURE_API_PATH", "make_openai_client", "upstream_base_url"]

AZURE_API_PATH = "/openai/v1"
"""Where an Azure OpenAI resource serves the v1 API (files, batches and the synchronous endpoints)."""


def upstream_base_url(settings: OpenAISettings) -> str:
    """The base URL of the selected upstream: ``OPENAI_BASE_URL``, or ``{AZURE_OPENAI_ENDPOINT}/openai/v1``."""
    if settings.provider == "azure":
        assert settings.azure_openai_endpoint is not None
        return settings.azure_openai_endpoint + AZURE_API_PATH
    return settings.openai_base_url


def make_openai_client(settings: OpenAISettings, **kwargs: Any) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` for the selected upstream's Batch API, with the SDK's own retries off.

    The SDK sends no idempotency key, so its retry of an upload or create could duplicate a file or a
    batch. Callers retry themselves, after checking upstream for what already exists.

    :raises ValueError: the upstream key (``OPENAI_API_KEY`` or ``AZURE_OPENAI_API_KEY``) is not set.
    """
    secret = settings.upstream_key
    key = secret.get_secret_value() if secret else None
    if not key:
        raise ValueError(
            "AZURE_OPENAI_API_KEY is not set" if settings.provider == "azure" else "OPENAI_API_KEY is not set"
        )
    if settings.provider == "azure":
        kwargs["default_headers"] = {**kwargs.get("default_headers", {}), "api-key": key}
    return AsyncOpenAI(
        api_key=key,
        base_url=upstream_base_url(settings),
        max_retries=0,
        timeout=settings.upstream_timeout_seconds,
        **kwargs,
    )
