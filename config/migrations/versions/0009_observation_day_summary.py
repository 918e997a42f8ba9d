"""observation_day_summary, observation_ward_day and their state: the "observations on time"
report's summary

The table starts empty and is not in use until built for the configured time zone and rules
(``python run.py reports build-observation-summary``, or the scheduler's
``observation-summary`` job, which builds it when it is missing or stale).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'observation_day_summary',
        sa.Column('stay_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('ward_id', sa.Integer(), nullable=False),
        sa.Column('on_time', sa.Integer(), nullable=False),
        sa.Column('late', sa.Integer(), nullable=False),
        sa.Column('continuous', sa.Integer(), nullable=False),
        sa.Column('open_due_ms', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['stay_id'], ['stay.id']),
        sa.ForeignKeyConstraint(['ward_id'], ['ward.id']),
        sa.PrimaryKeyConstraint('stay_id', 'day', 'ward_id'),
    )
    op.create_index(
        'ix_observation_day_summary_day_ward',
        'observation_day_summary',
        ['day', 'ward_id'],
        unique=False,
    )
    op.create_index(
        'ix_observation_day_summary_open_due_ms',
        'observation_day_summary',
        ['open_due_ms'],
        unique=False,
    )
    op.create_table(
        'observation_ward_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('ward_id', sa.Integer(), nullable=False),
        sa.Column('on_time', sa.Integer(), nullable=False),
        sa.Column('late', sa.Integer(), nullable=False),
        sa.Column('continuous', sa.Integer(), nullable=False),
        sa.Column('open_sets', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ward_id'], ['ward.id']),
        sa.PrimaryKeyConstraint('day', 'ward_id'),
    )
    op.create_table(
        'observation_summary_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('basis', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('stays', sa.Integer(), nullable=False),
        sa.Column('updated_at', config.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('observation_summary_state')
    op.drop_table('observation_ward_day')
    op.drop_index('ix_observation_day_summary_open_due_ms', table_name='observation_day_summary')
    op.drop_index('ix_observation_day_summary_day_ward', table_name='observation_day_summary')
    op.drop_table('observation_day_summary')
