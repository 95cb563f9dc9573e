"""API tokens with a scope, an expiry and a revocation (they were one never-expiring token a
user); a clinician's rendering providers

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    tokens = op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_name', sa.String(100), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('scope', sa.String(10), nullable=False),
        sa.Column('created_at', sa.String(32), nullable=False),
        sa.Column('expires_at', sa.String(32), nullable=False),
        sa.Column('revoked_at', sa.String(32), nullable=True),
        sa.Column('last_used_at', sa.String(32), nullable=True),
    )
    # A token made before this kept working for ever: it now reads only, for 90 more days.
    stamp = datetime.now(UTC)
    rows = op.get_bind().execute(sa.text(
        "SELECT name, token_hash FROM users WHERE token_hash IS NOT NULL")).all()
    op.bulk_insert(tokens, [{
        'user_name': name, 'token_hash': digest, 'scope': 'read',
        'created_at': stamp.isoformat(timespec='seconds'),
        'expires_at': (stamp + timedelta(days=90)).isoformat(timespec='seconds')}
        for name, digest in rows])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_hash')
        batch_op.add_column(sa.Column('providers', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('providers')
        batch_op.add_column(sa.Column('token_hash', sa.String(64), nullable=True))
    op.drop_table('api_tokens')
