"""Indicators: who talked in a month (a month-scoped hash of the pseudonym) and on how many
days, for the programme's count of people and of those who came back.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_contacts",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monthly_contacts")
