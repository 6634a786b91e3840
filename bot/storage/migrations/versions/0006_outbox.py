"""Several bot workers: a durable outbox for messages sent outside a user's turn (a worker
that dies loses none), seen events that a worker holds while it handles them, and button
payloads any worker can look up.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False, index=True),
        sa.Column("wrapped", sa.String(200), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "button_payloads",
        sa.Column("token", sa.String(32), primary_key=True),
        sa.Column("payload", sa.String(512), nullable=False),
    )
    with op.batch_alter_table("seen_events") as table:
        table.add_column(sa.Column("done", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("seen_events") as table:
        table.drop_column("done")
    op.drop_table("button_payloads")
    op.drop_table("outbox_messages")
