"""Several bot workers: what a worker remembers of a user between two messages (the
counselor intake in progress, Zalo's numbered options), sealed, so that any worker can take
the next one; and the chat an update belongs to (a keyed pseudonym) with its sequence, so
that one chat's updates are handled in order whichever worker receives them.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_memory",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("wrapped", sa.String(200), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
    )
    with op.batch_alter_table("seen_events") as table:
        table.add_column(sa.Column("chat", sa.String(80), nullable=True))
        table.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        table.create_index("ix_seen_events_chat", ["chat"])


def downgrade() -> None:
    with op.batch_alter_table("seen_events") as table:
        table.drop_index("ix_seen_events_chat")
        table.drop_column("seq")
        table.drop_column("chat")
    op.drop_table("user_memory")
