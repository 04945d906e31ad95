"""deadlines: requests.deadline_at and the fallback claim, results.answered_by, the late_lines table

* ``requests.deadline_at``: when the call's ``Batchgpt-Deadline`` passes (only set while a fallback is on);
  cleared when its batch line is about to answer it (the batch then owns the answer);
* ``requests.fallback_request``: the request as it was produced (body and reply routing), for the fallback;
* ``requests.fallback_owner`` / ``fallback_expires_at``: the resolver that claimed the fallback, and its lease;
* ``results.answered_by``: ``batch``, ``sync`` or ``flex`` (NULL for rows written before this revision);
* ``late_lines``: batch lines that arrived after the fallback claimed their request (recorded, never delivered).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch_op:
        batch_op.add_column(sa.Column("deadline_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("fallback_request", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("fallback_owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("fallback_expires_at", sa.Float(), nullable=True))
        batch_op.create_index("ix_requests_deadline_at", ["deadline_at"])
    with op.batch_alter_table("results") as batch_op:
        batch_op.add_column(sa.Column("answered_by", sa.String(length=8), nullable=True))
    op.create_table(
        "late_lines",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("upstream_request_id", sa.String(length=128), nullable=True),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "batch_id", name="pk_late_lines"),
    )


def downgrade() -> None:
    op.drop_table("late_lines")
    with op.batch_alter_table("results") as batch_op:
        batch_op.drop_column("answered_by")
    with op.batch_alter_table("requests") as batch_op:
        batch_op.drop_index("ix_requests_deadline_at")
        batch_op.drop_column("fallback_expires_at")
        batch_op.drop_column("fallback_owner")
        batch_op.drop_column("fallback_request")
        batch_op.drop_column("deadline_at")
