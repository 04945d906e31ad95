"""Azure OpenAI's v1 Files + Batches API behind :class:`~batchgpt.upstream.provider.Upstream`.

Everything but the error bodies is OpenAI's: the same calls on the same SDK client (pointed at
``{endpoint}/openai/v1`` with the ``api-key`` header, see :mod:`~batchgpt.upstream.openai_client`), the same
metadata lookup, the same result files. ``model`` in the lines is the deployment name, passed through as the
callers sent it. What differs for the services lives elsewhere: the resolver deletes every input file once its
batch is resolved (a resource holds only 500 input files without an expiry) and polls at most every 60 s by
default; no 24 h expiry is assumed (Azure runs a batch until it is done or cancelled).
"""

from __future__ import annotations

from batchgpt.upstream import azure_errors
from batchgpt.upstream.openai_upstream import OpenAIUpstream

__all__ = ["AzureOpenAIUpstream"]


class AzureOpenAIUpstream(OpenAIUpstream):
    """:class:`OpenAIUpstream` with Azure's error bodies mapped to OpenAI's (:mod:`~batchgpt.upstream.azure_errors`)."""

    _translate = staticmethod(azure_errors.translate)
