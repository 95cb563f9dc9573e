"""a filed level knows by when the payer must decide it (the registry's decision clock)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('decision_rule', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_column('decision_rule')
        batch_op.drop_column('decision_due')
