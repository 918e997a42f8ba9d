"""clinical_order ordered_by and consultant_directed: who placed an order (a signed-in
clinician on the web, or ORC-12 over HL7) and whether a consultant directed it (Seven Day
Services standard 5 report times)

Existing orders keep no orderer and are not consultant-directed (as before).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clinical_order') as batch:
        batch.add_column(sa.Column('ordered_by', sa.String(length=80), nullable=True))
        batch.add_column(
            sa.Column(
                'consultant_directed', sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('clinical_order') as batch:
        batch.drop_column('consultant_directed')
        batch.drop_column('ordered_by')
