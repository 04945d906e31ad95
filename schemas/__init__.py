"""batch-gpt's contracts: topic names, message models, states and the codec. Imports no I/O library."""

from schemas.codec import CONTENT_TYPE, DecodeError, decode, encode
from schemas.messages import (
    SCHEMA_VERSION,
    BatchEvent,
    DeadLetter,
    ReplyMessage,
    ReplyTo,
    RequestCounts,
    RequestMessage,
    TokenUsage,
    WebhookEvent,
)
from schemas.status import (
    TERMINAL_BATCH_STATUSES,
    BatchEventKind,
    BatchStatus,
    Endpoint,
    ReplyStatus,
    RequestState,
)
from schemas.topics import DEFAULT_TOPIC_PREFIX, HEADER_CONTENT_TYPE, HEADER_SCHEMA_VERSION, TopicNames

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_TOPIC_PREFIX",
    "HEADER_CONTENT_TYPE",
    "HEADER_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "TERMINAL_BATCH_STATUSES",
    "BatchEvent",
    "BatchEventKind",
    "BatchStatus",
    "DeadLetter",
    "DecodeError",
    "Endpoint",
    "ReplyMessage",
    "ReplyStatus",
    "ReplyTo",
    "RequestCounts",
    "RequestMessage",
    "RequestState",
    "TokenUsage",
    "TopicNames",
    "WebhookEvent",
    "decode",
    "encode",
]
