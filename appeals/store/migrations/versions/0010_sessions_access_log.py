"""desk sessions kept in the store (sign-out, idle and absolute limits, a disabled user end
them), sign-in lockout on users, and the append-only access log

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.String(32), nullable=True))
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('locked_at', sa.String(32), nullable=True))
    op.create_table(
        'sessions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('user_name', sa.String(100), nullable=False),
        sa.Column('created_at', sa.String(32), nullable=False),
        sa.Column('last_seen', sa.String(32), nullable=False),
        sa.Column('ended_at', sa.String(32), nullable=True),
        sa.Column('ended_why', sa.String(40), nullable=True),
        sa.Column('address', sa.String(64), nullable=True),
    )
    op.create_table(
        'access_log',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('at', sa.String(32), nullable=False),
        sa.Column('user_name', sa.String(100), nullable=True),
        sa.Column('action', sa.String(30), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.String(300), nullable=True),
        sa.Column('address', sa.String(64), nullable=True),
        sa.Column('outcome', sa.String(20), nullable=False),
    )
    op.create_index('access_log_at', 'access_log', ['at'])
    op.create_index('access_log_user', 'access_log', ['user_name'])
    op.create_index('access_log_case', 'access_log', ['case_id'])


def downgrade() -> None:
    op.drop_table('access_log')
    op.drop_table('sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
        batch_op.drop_column('failed_sign_ins')
        batch_op.drop_column('disabled_at')
