"""a filed level knows which registry clock dates it, so the watch can name what the program
gives once that clock has run out (appeals escalate)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filings made before keep NULL: the watch then says "escalate" without naming the letters.
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_clock', sa.String(60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_column('decision_clock')
