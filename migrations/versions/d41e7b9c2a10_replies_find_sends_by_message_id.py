"""replies: find the ledger row a reply or bounce names by its Message-ID

Revision ID: d41e7b9c2a10
Revises: c7ac56a57f2b
Create Date: 2026-12-06 13:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd41e7b9c2a10'
down_revision = 'c7ac56a57f2b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f('ix_sends_message_id'), 'sends', ['message_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_sends_message_id'), table_name='sends')
