"""the send gate: a case knows whether its letter carries a parity section, and an approval names
the exact packet it approved (approvals recorded before name none, and lapse)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parity_letter', sa.Boolean(), nullable=True))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('packet_sha256', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('packet_sha256')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('parity_letter')
