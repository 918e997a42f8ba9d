"""nurse_shift_allocation and nurse_allocation: which nurse has which bay or bed each shift
(set by the nurse in charge; read by the managers' workload view)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import config.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'nurse_shift_allocation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ward_id', sa.Integer(), nullable=False),
        sa.Column('shift_date', sa.Date(), nullable=False),
        sa.Column('shift', sa.String(length=5), nullable=False),
        sa.Column('nurse_in_charge_id', sa.Integer(), nullable=True),
        sa.Column('set_by', sa.String(length=64), nullable=False),
        sa.Column('set_at', config.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "shift IN ('day', 'night')", name=op.f('ck_nurse_shift_allocation_shift_name')
        ),
        sa.ForeignKeyConstraint(
            ['nurse_in_charge_id'],
            ['staff_user.id'],
            name=op.f('fk_nurse_shift_allocation_nurse_in_charge_id_staff_user'),
        ),
        sa.ForeignKeyConstraint(
            ['ward_id'], ['ward.id'], name=op.f('fk_nurse_shift_allocation_ward_id_ward')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nurse_shift_allocation')),
        sa.UniqueConstraint(
            'ward_id',
            'shift_date',
            'shift',
            name=op.f('uq_nurse_shift_allocation_ward_id_shift_date_shift'),
        ),
    )
    with op.batch_alter_table('nurse_shift_allocation', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_nurse_shift_allocation_shift_date'), ['shift_date'], unique=False
        )
    op.create_table(
        'nurse_allocation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('allocation_id', sa.Integer(), nullable=False),
        sa.Column('nurse_id', sa.Integer(), nullable=False),
        sa.Column('bay_id', sa.Integer(), nullable=True),
        sa.Column('bed_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(
            '(bay_id IS NULL) <> (bed_id IS NULL)', name=op.f('ck_nurse_allocation_bay_or_bed')
        ),
        sa.ForeignKeyConstraint(
            ['allocation_id'],
            ['nurse_shift_allocation.id'],
            name=op.f('fk_nurse_allocation_allocation_id_nurse_shift_allocation'),
        ),
        sa.ForeignKeyConstraint(
            ['bay_id'], ['bay.id'], name=op.f('fk_nurse_allocation_bay_id_bay')
        ),
        sa.ForeignKeyConstraint(
            ['bed_id'], ['bed.id'], name=op.f('fk_nurse_allocation_bed_id_bed')
        ),
        sa.ForeignKeyConstraint(
            ['nurse_id'], ['staff_user.id'], name=op.f('fk_nurse_allocation_nurse_id_staff_user')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nurse_allocation')),
    )
    with op.batch_alter_table('nurse_allocation', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_nurse_allocation_allocation_id'), ['allocation_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('nurse_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nurse_allocation_allocation_id'))
    op.drop_table('nurse_allocation')
    with op.batch_alter_table('nurse_shift_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nurse_shift_allocation_shift_date'))
    op.drop_table('nurse_shift_allocation')
