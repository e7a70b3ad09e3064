"""article links: the clinic's articles and campaigns, with the UTM fields of their links

Revision ID: 64f0055a3d8a
Revises: fd7e10d8c809
Create Date: 2026-12-06 19:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '64f0055a3d8a'
down_revision = 'fd7e10d8c809'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('article_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('page_url', sa.String(length=500), nullable=True),
    sa.Column('utm_content', sa.String(length=100), nullable=False),
    sa.Column('utm_campaign', sa.String(length=100), nullable=False),
    sa.Column('utm_source', sa.String(length=100), nullable=False),
    sa.Column('utm_medium', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff_users.id'], name=op.f('fk_article_links_updated_by_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_links')),
    sa.UniqueConstraint('utm_content', name=op.f('uq_article_links_utm_content'))
    )


def downgrade():
    op.drop_table('article_links')
