"""results.input_tokens, results.output_tokens: the tokens each answer's ``usage`` reported; indexes for the
dashboard's reads (a tenant's results by completion time, a batch's results)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch_op:
        batch_op.add_column(sa.Column("input_tokens", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("output_tokens", sa.BigInteger(), nullable=True))
    op.create_index("ix_results_tenant_completed", "results", ["tenant", "completed_at"])
    op.create_index("ix_results_batch_id", "results", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_results_batch_id", table_name="results")
    op.drop_index("ix_results_tenant_completed", table_name="results")
    with op.batch_alter_table("results") as batch_op:
        batch_op.drop_column("output_tokens")
        batch_op.drop_column("input_tokens")
