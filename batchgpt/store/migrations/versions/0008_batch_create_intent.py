"""batches.create_started_at: when an upstream create began for a provider whose batches carry no metadata
(Anthropic), so that a crashed collator's batch can be told apart from its same-size neighbours

Revision ID: 0008
Revises: 0003 (chained after messages' 0003 on this branch)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0003"  # 0002 on branch anthropic; chained after 0003 (batches.provider) here
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch_op:
        batch_op.add_column(sa.Column("create_started_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch_op:
        batch_op.drop_column("create_started_at")
