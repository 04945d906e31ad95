"""SQLAlchemy table declarations for batch metadata (declarations only: no engine, no session).

* ``batches``: one row per batch we create upstream, keyed by our deterministic batch id; a batch
  holds one tenant's requests for one (endpoint, model), so callers never share a batch.
  ``provider`` (migration 0003) is who runs it: ``openai`` (OpenAI or Azure OpenAI) or ``anthropic``,
  derived from its endpoint.
* ``batch_members``: which request (at which attempt) is which line of which batch;
  ``UNIQUE(request_id, attempt)`` is what makes a second upstream line for a request impossible.
* ``requests``: each accepted request's state as the HTTP API reports it, with its dedupe keys.
* ``results``: each request's terminal outcome (the reply, with the provider's request id of its batch
  line when there is one), served by id until it expires.

Times are Unix seconds (floats), the same clock as the topic messages.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["batch_members", "batches", "metadata", "requests", "results"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("upstream_batch_id", String(128), nullable=True, unique=True),
    Column("tenant", String(200), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("input_file_id", String(128), nullable=True),
    Column("output_file_id", String(128), nullable=True),
    Column("error_file_id", String(128), nullable=True),
    Column("line_count", Integer, nullable=False),
    Column("byte_count", BigInteger, nullable=False),
    Column("request_total", Integer, nullable=False, default=0),
    Column("request_completed", Integer, nullable=False, default=0),
    Column("request_failed", Integer, nullable=False, default=0),
    Column("input_tokens", BigInteger, nullable=False, default=0),
    Column("output_tokens", BigInteger, nullable=False, default=0),
    Column("total_tokens", BigInteger, nullable=False, default=0),
    Column("errors", Text, nullable=True),
    Column("submit_attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("submitted_at", Float, nullable=True),
    Column("create_started_at", Float, nullable=True),  # migration 0008: an upstream create without metadata began
    Column("status_changed_at", Float, nullable=True),
    Column("terminal_at", Float, nullable=True),
    Column("resolved_at", Float, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("next_poll_at", Float, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", Float, nullable=True),
    Column("provider", String(32), nullable=False, server_default="openai"),
    Index("ix_batches_open", "resolved_at", "next_poll_at"),
    Index("ix_batches_tenant_created", "tenant", "created_at"),
)

batch_members = Table(
    "batch_members",
    metadata,
    Column("batch_id", String(64), ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    Column("request_id", String(64), primary_key=True),
    Column("attempt", Integer, nullable=False, default=0),
    Column("line_no", Integer, nullable=False),
    Column("tenant", String(200), nullable=False),
    Column("reply_topic", String(255), nullable=True),
    Column("reply_partition", Integer, nullable=True),
    Column("request", Text, nullable=False),
    Column("outcome", String(16), nullable=True),
    UniqueConstraint("request_id", "attempt", name="uq_batch_members_request_attempt"),
)

requests = Table(
    "requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("tenant", String(200), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("state", String(16), nullable=False),
    Column("batch_id", String(64), nullable=True),
    Column("received_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("tenant", "idempotency_key", name="uq_requests_tenant_idempotency_key"),
    Index("ix_requests_tenant_fingerprint", "tenant", "fingerprint"),
    Index("ix_requests_tenant_state", "tenant", "state"),
)

results = Table(
    "results",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("tenant", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("batch_id", String(64), nullable=True),
    Column("upstream_batch_id", String(128), nullable=True),
    Column("completed_at", Float, nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("upstream_request_id", String(128), nullable=True),
    Index("ix_results_expires_at", "expires_at"),
)
