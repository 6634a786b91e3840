"""Handoff safety: signed revocations, MAC'ed sessions, re-shared items after a key
rotation, discreet delivery and capped reminders, user-facing aliases, and replay memory
that survives a restart.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions issued before this revision carry no MAC: they end now.
    op.execute("DELETE FROM staff_sessions")
    with op.batch_alter_table("staff_sessions") as table:
        table.add_column(sa.Column("mac", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("staff") as table:
        table.add_column(sa.Column("alias", sa.String(40)))
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("discreet", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        table.add_column(sa.Column("user_reminders", sa.Integer(), nullable=False,
                                   server_default="1"))
        table.add_column(sa.Column("user_reminded", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_table(
        "key_revocations",
        sa.Column("key_id", sa.String(40), sa.ForeignKey("staff_keys.key_id"),
                  primary_key=True),
        sa.Column("staff_id", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("revoked_at", sa.String(24), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
    )
    op.create_table(
        "case_item_shares",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(40), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("wrap", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("case_id", "item", "key_id"),
    )
    op.create_table(
        "held_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(100), nullable=False, index=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    )
    op.create_table(
        "seen_events",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    for name in ("seen_events", "held_messages", "case_item_shares", "key_revocations"):
        op.drop_table(name)
    with op.batch_alter_table("cases") as table:
        for column in ("user_reminded", "user_reminders", "discreet"):
            table.drop_column(column)
    with op.batch_alter_table("staff") as table:
        table.drop_column("alias")
    with op.batch_alter_table("staff_sessions") as table:
        table.drop_column("mac")
