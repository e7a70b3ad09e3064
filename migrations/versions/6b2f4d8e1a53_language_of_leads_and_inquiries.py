"""The language a lead and each inquiry were written in

Revision ID: 6b2f4d8e1a53
Revises: 5a7e3c1d8b42
Create Date: 2026-12-06 10:00:00.000000

Every existing lead and inquiry was filled in in English, the only language until now.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b2f4d8e1a53'
down_revision = '5a7e3c1d8b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('language')
