"""clinical_order kind, modality, priority and performed time; clinical_result urgency and
acknowledgement: what the result alerts need

Existing orders become routine lab orders, existing results routine and unacknowledged (they
only alert where they fall inside a current stay).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:35:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clinical_order') as batch:
        batch.add_column(
            sa.Column('kind', sa.String(length=12), nullable=False, server_default='lab')
        )
        batch.add_column(sa.Column('modality', sa.String(length=8), nullable=True))
        batch.add_column(
            sa.Column('priority', sa.String(length=10), nullable=False, server_default='routine')
        )
        batch.add_column(sa.Column('performed_at', config.db.UTCDateTime(), nullable=True))
    op.create_index(
        'ix_clinical_order_patient_ordered', 'clinical_order', ['patient_id', 'ordered_at']
    )
    with op.batch_alter_table('clinical_result') as batch:
        batch.add_column(
            sa.Column(
                'result_urgency', sa.String(length=10), nullable=False, server_default='routine'
            )
        )
        batch.add_column(sa.Column('acknowledged_at', config.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('acknowledged_by', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clinical_result') as batch:
        batch.drop_column('acknowledged_by')
        batch.drop_column('acknowledged_at')
        batch.drop_column('result_urgency')
    op.drop_index('ix_clinical_order_patient_ordered', table_name='clinical_order')
    with op.batch_alter_table('clinical_order') as batch:
        batch.drop_column('performed_at')
        batch.drop_column('priority')
        batch.drop_column('modality')
        batch.drop_column('kind')
