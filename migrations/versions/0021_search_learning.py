"""search learning: the synonym list in the database, failed queries counted per day

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04

search_synonym holds the synonym list staff keep (one row per word people type and one
official word it also finds, unique together, versioned for optimistic locking); `flask seed`
fills it from seed/synonyms.yaml the first time (catalog.search.synonyms). failed_query counts
the public searches that found nothing: the normalised text (at most 50 characters) and the day
in 北京时间, one row per pair, nothing else; bounded and purged by catalog.search.failed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=50), nullable=False),
        sa.Column("updated_by", sa.String(length=50), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonym")),
        sa.UniqueConstraint("term", "target", name=op.f("uq_search_synonym_term")),
    )
    op.create_table(
        "failed_query",
        sa.Column("text", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("text", "day", name=op.f("pk_failed_query")),
    )
    with op.batch_alter_table("failed_query") as batch:
        batch.create_index(batch.f("ix_failed_query_day"), ["day"])


def downgrade():
    with op.batch_alter_table("failed_query") as batch:
        batch.drop_index(batch.f("ix_failed_query_day"))
    op.drop_table("failed_query")
    op.drop_table("search_synonym")
