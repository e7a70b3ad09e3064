"""Staff search: trigram indexes on lead full names, email and phone

Revision ID: 7c1d2e9a4b10
Revises: baa84b18d089
Create Date: 2026-11-21 15:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1d2e9a4b10'
down_revision = 'baa84b18d089'
branch_labels = None
depends_on = None

COLUMNS = ('email', 'phone')
# The queue searches names as one string, so "ada byron" matches across the space.
FULL_NAME = "lower((first_name || ' ') || last_name)"


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index(
        'ix_leads_full_name_trgm',
        'leads',
        [sa.text(f'{FULL_NAME} gin_trgm_ops' if postgresql else FULL_NAME)],
        postgresql_using='gin',
    )
    for column in COLUMNS:
        op.create_index(
            f'ix_leads_{column}_trgm',
            'leads',
            [column],
            postgresql_using='gin',
            postgresql_ops={column: 'gin_trgm_ops'},
        )


def downgrade():
    op.drop_index('ix_leads_full_name_trgm', table_name='leads')
    for column in COLUMNS:
        op.drop_index(f'ix_leads_{column}_trgm', table_name='leads')
