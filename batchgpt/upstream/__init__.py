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
  error bodies mapped to OpenAI's.

::

    upstream = make_upstream(settings)                 # OpenAI or Azure OpenAI as settings say, SDK retries off
    staged = await upstream.stage(batch_id, jsonl)     # upload
    batch = await upstream.create(staged, endpoint="/v1/chat/completions", model="gpt-4o-mini")
"""

from __future__ import annotations

from batchgpt.settings import OpenAISettings
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
