"""The upstream edge: the one place batch-gpt talks to a batch provider.

* :mod:`~batchgpt.upstream.provider`: the :class:`Upstream` interface (stage/create, find, retrieve,
  cancel, result lines, delete files) both the collator and the resolver use;
* :mod:`~batchgpt.upstream.records`: :class:`UpstreamBatch`, :class:`StagedInput` and :class:`UpstreamModel`;
* :mod:`~batchgpt.upstream.errors`: the error tree (transient, rejected, conflict);
* :mod:`~batchgpt.upstream.retry_after`: the server's ``Retry-After``;
* :mod:`~batchgpt.upstream.backoff`: the one backoff policy, and why;
* :mod:`~batchgpt.upstream.retrying`: ``retry``: retries through tenacity with that policy;
* :mod:`~batchgpt.upstream.bodies`: a body as it goes upstream (streaming fields removed);
* :mod:`~batchgpt.upstream.openai_upstream` (+ ``openai_client``, ``openai_errors``): OpenAI behind the interface;
* :mod:`~batchgpt.upstream.azure_upstream` (+ ``azure_errors``): Azure OpenAI's v1 API, the same with Azure's
  error bodies mapped to OpenAI's;
* :mod:`~batchgpt.upstream.anthropic_upstream` (+ ``anthropic_records``, ``anthropic_errors``,
  ``anthropic_recovery``): Anthropic's Message Batches (inline requests, found again without metadata);
* :mod:`~batchgpt.upstream.sdk_errors`: one translation of an SDK's exceptions for every provider.

::

    upstreams = make_upstreams(settings)               # {"openai": OpenAI or Azure OpenAI, "anthropic": ...}
    upstream = upstreams["openai"]                     # SDK retries off
    staged = await upstream.stage(batch_id, jsonl)     # upload
    batch = await upstream.create(staged, endpoint="/v1/chat/completions", model="gpt-4o-mini")
"""

from __future__ import annotations

from anthropic import AsyncAnthropic
from sqlalchemy import Engine

from batchgpt.settings import OpenAISettings, UpstreamSettings
from batchgpt.upstream.anthropic_recovery import StoreLedger
from batchgpt.upstream.anthropic_upstream import AnthropicUpstream
from batchgpt.upstream.azure_upstream import AzureOpenAIUpstream
from batchgpt.upstream.backoff import Backoff
from batchgpt.upstream.errors import UpstreamConflict, UpstreamError, UpstreamRejected, UpstreamTransient
from batchgpt.upstream.openai_client import make_openai_client
from batchgpt.upstream.openai_upstream import METADATA_KEY, OpenAIUpstream
from batchgpt.upstream.provider import Upstream, submit
from batchgpt.upstream.records import StagedInput, UpstreamBatch, UpstreamModel, UpstreamResponse
from batchgpt.upstream.retry_after import parse_retry_after
from batchgpt.upstream.retrying import retry

__all__ = [
    "METADATA_KEY",
    "PROVIDERS",
    "AnthropicUpstream",
    "AzureOpenAIUpstream",
    "Backoff",
    "OpenAIUpstream",
    "StagedInput",
    "Upstream",
    "UpstreamBatch",
    "UpstreamConflict",
    "UpstreamError",
    "UpstreamModel",
    "UpstreamRejected",
    "UpstreamResponse",
    "UpstreamTransient",
    "make_openai_client",
    "make_upstream",
    "make_anthropic_upstream",
    "make_upstreams",
    "parse_retry_after",
    "retry",
    "submit",
]


def make_upstream(settings: OpenAISettings, *, lookup_pages: int = 10) -> Upstream:
    """The upstream provider ``settings`` select (OpenAI, or Azure OpenAI when its endpoint and key are set),
    its files set to expire as configured;
    nothing connects until the first call.

    :raises ValueError: the selected provider's key is not set.
    """
    kind = AzureOpenAIUpstream if settings.provider == "azure" else OpenAIUpstream
    return kind(
        make_openai_client(settings),
        lookup_pages=lookup_pages,
        input_expires_s=settings.input_file_expires_seconds,
        output_expires_s=settings.output_file_expires_seconds,
    )


PROVIDERS = ("openai", "anthropic")
"""The keys of :func:`make_upstreams`: ``openai`` (OpenAI or Azure OpenAI: the OpenAI routes) and ``anthropic``
(Message Batches: ``/v1/messages``)."""


def make_anthropic_upstream(
    settings: UpstreamSettings, *, engine: Engine | None = None, lookup_pages: int = 10
) -> AnthropicUpstream:
    """The Anthropic upstream (``ANTHROPIC_API_KEY`` at ``ANTHROPIC_BASE_URL``), SDK retries off; with ``engine``
    it can :meth:`~AnthropicUpstream.find` batches again (the collator's).

    :raises ValueError: ``ANTHROPIC_API_KEY`` is not set.
    """
    key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
    if not key:
        raise ValueError("ANTHROPIC_API_KEY is not set")
    client = AsyncAnthropic(
        api_key=key,
        base_url=settings.anthropic_base_url,
        max_retries=0,
        timeout=settings.upstream_timeout_seconds,
    )
    ledger = StoreLedger(engine) if engine is not None else None
    return AnthropicUpstream(client, ledger=ledger, lookup_pages=lookup_pages)


def make_upstreams(
    settings: UpstreamSettings, *, engine: Engine | None = None, lookup_pages: int = 10
) -> dict[str, Upstream]:
    """One upstream per configured provider, by provider (:data:`PROVIDERS`): ``openai`` when
    ``OPENAI_API_KEY`` (or Azure OpenAI's endpoint and key) is set, ``anthropic`` when ``ANTHROPIC_API_KEY`` is.
    Both serve at the same time. ``engine`` lets the Anthropic upstream find its batches again after a crash
    (the collator passes its database). Nothing connects until the first call.
    """
    upstreams: dict[str, Upstream] = {}
    if settings.upstream_key is not None:
        upstreams["openai"] = make_upstream(settings, lookup_pages=lookup_pages)
    if settings.anthropic_api_key is not None:
        upstreams["anthropic"] = make_anthropic_upstream(settings, engine=engine, lookup_pages=lookup_pages)
    return upstreams
