"""The endpoints the Batch API knows, and the ones the simulator answers (synchronously and in batches)."""

from __future__ import annotations

__all__ = [
    "BATCH_ENDPOINTS",
    "CHAT_ENDPOINT",
    "COMPLETIONS_ENDPOINT",
    "EMBEDDINGS_ENDPOINT",
    "MESSAGES_ENDPOINT",
    "MODERATIONS_ENDPOINT",
    "RESPONSES_ENDPOINT",
    "SIMULATED_ENDPOINTS",
]

RESPONSES_ENDPOINT = "/v1/responses"
CHAT_ENDPOINT = "/v1/chat/completions"
EMBEDDINGS_ENDPOINT = "/v1/embeddings"
COMPLETIONS_ENDPOINT = "/v1/completions"
MODERATIONS_ENDPOINT = "/v1/moderations"
MESSAGES_ENDPOINT = "/v1/messages"
"""Anthropic's Messages API: answered synchronously and in Message Batches (not an OpenAI batch endpoint)."""

SIMULATED_ENDPOINTS: tuple[str, ...] = (
    RESPONSES_ENDPOINT,
    CHAT_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    COMPLETIONS_ENDPOINT,
    MODERATIONS_ENDPOINT,
)
"""What the simulator answers: every batchable endpoint but images and videos."""

BATCH_ENDPOINTS: tuple[str, ...] = (
    *SIMULATED_ENDPOINTS,
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
"""The ``endpoint`` values OpenAI's ``POST /v1/batches`` accepts (openai-python ``batch_create_params``)."""
