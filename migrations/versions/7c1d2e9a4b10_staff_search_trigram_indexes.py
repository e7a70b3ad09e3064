"""Staff search: trigram indexes on lead names, email and phone

Revision ID: 7c1d2e9a4b10
Revises: baa84b18d089
Create Date: 2026-11-21 15:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c1d2e9a4b10'
down_revision = 'baa84b18d089'
branch_labels = None
depends_on = None

COLUMNS = ('first_name', 'last_name', 'email', 'phone')


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for column in COLUMNS:
        op.create_index(
            f'ix_leads_{column}_trgm',
            'leads',
            [column],
            postgresql_using='gin',
            postgresql_ops={column: 'gin_trgm_ops'},
        )


def downgrade():
    for column in COLUMNS:
        op.drop_index(f'ix_leads_{column}_trgm', table_name='leads')
