"""cases keep their packet's readiness apart from their status, and the worklist's score

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('packet_ready', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('score', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('score')
        batch_op.drop_column('packet_ready')
