"""Content editing in the workspace: proposed changes and every published version.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("file", sa.String(40), nullable=False, index=True),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("entry", sa.String(80)),
        sa.Column("author_id", sa.String(40), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("approver_id", sa.String(40)),
        sa.Column("approver", sa.String(80)),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("retrain", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "content_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("file", sa.String(40), nullable=False, index=True),
        sa.Column("entry", sa.String(80)),
        sa.Column("base_sha", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(40), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reviewer_id", sa.String(40)),
        sa.Column("reviewer", sa.String(80)),
        sa.Column("note", sa.String(500)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime()),
    )


def downgrade() -> None:
    op.drop_table("content_changes")
    op.drop_table("content_versions")
