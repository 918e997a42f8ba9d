"""mpi_blocking_key: (key, patient_id) unique as an index, not a table constraint

SQLite keeps a UNIQUE table constraint in an index that cannot be dropped; as a named unique
index it can be dropped for a GP-feed first load and built again after it (``mpi.feed_indexes``).
Same name, same columns, same uniqueness.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 'uq_mpi_blocking_key_key_patient_id'


def upgrade() -> None:
    with op.batch_alter_table('mpi_blocking_key', schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_='unique')
    op.create_index(NAME, 'mpi_blocking_key', ['key', 'patient_id'], unique=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name='mpi_blocking_key')
    with op.batch_alter_table('mpi_blocking_key', schema=None) as batch_op:
        batch_op.create_unique_constraint(NAME, ['key', 'patient_id'])
