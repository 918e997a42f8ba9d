"""stay: leave of absence (A21/A22)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('stay', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('leave_started_at', config.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('leave_ended_at', config.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('stay', schema=None) as batch_op:
        batch_op.drop_column('leave_ended_at')
        batch_op.drop_column('leave_started_at')
