"""precedent: published external-review decisions and their imports

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'precedent_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(40), nullable=False),
        sa.Column('title', sa.String(200), nullable=False),
        sa.Column('file_name', sa.String(300), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('imported_at', sa.String(32), nullable=False),
        sa.Column('imported_on', sa.Date(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_precedent_imports')),
    )
    op.create_table(
        'precedents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(40), nullable=False),
        sa.Column('reference_id', sa.String(100), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('diagnosis', sa.String(400), nullable=False),
        sa.Column('treatment', sa.String(400), nullable=False),
        sa.Column('review_type', sa.String(20), nullable=False),
        sa.Column('outcome', sa.String(12), nullable=False),
        sa.Column('age_range', sa.String(40), nullable=True),
        sa.Column('findings', sa.Text(), nullable=True),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['precedent_imports.id'],
                                name=op.f('fk_precedents_import_id')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_precedents')),
        sa.UniqueConstraint('source', 'reference_id', name=op.f('uq_precedents_source_reference_id')),
    )


def downgrade() -> None:
    op.drop_table('precedents')
    op.drop_table('precedent_imports')
