"""an appeal knows its claim's grouping key, so a later line of the same claim and category
joins it while it is open (and opens an appeal of its own once the letter is sent)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Cases written before keep NULL: no later line joins them by this key (the conservative
    # side: a line of their claim that the run cannot match opens an appeal of its own).
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_group', sa.String(64), nullable=True))
        batch_op.create_index('ix_cases_claim_group', ['claim_group'])


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_claim_group')
        batch_op.drop_column('claim_group')
