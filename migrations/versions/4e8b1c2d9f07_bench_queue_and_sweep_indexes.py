"""Indexes found by the benchmarks: the queue by team in SLA order, and abandoned sends

Revision ID: 4e8b1c2d9f07
Revises: 93755c6af7be
Create Date: 2026-11-21 20:20:00

P3: a team's queue in SLA order (the default sort) read a whole team's leads and sorted them
(a sequential scan, ~0.5 s at 1 M leads); this index gives the rows in page order.
P5: the due sweep's "sending but abandoned" branch had no index, so every sweep scanned the
whole send ledger (~1 s at 2 M rows); with this partial index the two branches are a BitmapOr.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e8b1c2d9f07'
down_revision = '93755c6af7be'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_leads_team_id_sla_due_at', 'leads', ['team_id', 'sla_due_at', 'id'])
    op.create_index(
        'ix_sends_sending',
        'sends',
        ['claimed_at'],
        postgresql_where=sa.text("status = 'sending'"),
        sqlite_where=sa.text("status = 'sending'"),
    )


def downgrade():
    op.drop_index('ix_sends_sending', table_name='sends')
    op.drop_index('ix_leads_team_id_sla_due_at', table_name='leads')
