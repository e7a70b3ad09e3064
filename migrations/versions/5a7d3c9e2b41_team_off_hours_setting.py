"""team off-hours setting: next on shift or hold for the team

Revision ID: 5a7d3c9e2b41
Revises: 4e8b1c2d9f07
Create Date: 2026-12-06 03:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a7d3c9e2b41'
down_revision = '4e8b1c2d9f07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('off_hours', sa.String(length=16), nullable=False, server_default='next_on_shift')
        )


def downgrade():
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_column('off_hours')
