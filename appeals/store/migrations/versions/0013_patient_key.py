"""the patient's name casefolded on each case, for the desk's search by name

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_key', sa.String(200), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, record FROM cases")).all()
    keys = [{"k": " ".join((json.loads(r).get("patient_name") or "").split()).casefold()[:200]
             or None, "i": i} for i, r in rows]
    if keys:
        conn.execute(sa.text("UPDATE cases SET patient_key = :k WHERE id = :i"), keys)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('patient_key')
