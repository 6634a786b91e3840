"""Counselors' workspace: private notes sealed on staff devices, coded wrap-ups kept apart
from any case, and follow-up dates.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(40), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("note_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(40), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("case_id", "note_id"),
    )
    op.create_table(
        "case_wrapups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("month", sa.String(7), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("kinds", sa.String(200), nullable=False),
        sa.Column("contexts", sa.String(100), nullable=False),
        sa.Column("referrals", sa.String(400), nullable=False),
        sa.Column("safety_plan", sa.Boolean(), nullable=False),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
    )
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("follow_up_on", sa.Date()))
        table.add_column(sa.Column("channel", sa.String(16)))
        table.add_column(sa.Column("last_user_at", sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("last_user_at")
        table.drop_column("channel")
        table.drop_column("follow_up_on")
    op.drop_table("case_wrapups")
    op.drop_table("case_notes")
