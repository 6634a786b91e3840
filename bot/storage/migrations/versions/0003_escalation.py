"""Escalation: staff and their keys, sealed cases, subject keys, sessions, audit.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enrolment_hash", sa.String(64), unique=True),
        sa.Column("enrolment_expires", sa.DateTime()),
        sa.Column("notify_ref", sa.LargeBinary()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "staff_keys",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("staff_id", sa.String(40), sa.ForeignKey("staff.id"), nullable=False,
                  index=True),
        sa.Column("x25519", sa.LargeBinary(), nullable=False),
        sa.Column("ed25519", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approval", sa.String(200)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("approved_at", sa.DateTime()),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("risk", sa.String(16), nullable=False),
        sa.Column("risk_rank", sa.Integer(), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("subject", sa.String(100), index=True),
        sa.Column("routing", sa.LargeBinary()),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("claimed_by", sa.String(40), sa.ForeignKey("staff.id")),
        sa.Column("claimed_at", sa.DateTime()),
        sa.Column("closed_at", sa.DateTime(), index=True),
        sa.Column("outcome", sa.String(32)),
        sa.Column("referred_to", sa.String(64)),
        sa.Column("notified_at", sa.DateTime()),
        sa.Column("notify_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("escalated_at", sa.DateTime()),
        sa.Column("next_item", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_table(
        "case_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(40), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("case_id", "item"),
    )
    op.create_table(
        "subject_keys",
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("wrapped", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("staff_id", sa.String(60), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False, index=True),
    )
    op.create_table(
        "login_challenges",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        sa.Column("actor", sa.String(40), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("case_code", sa.String(16), index=True),
        sa.Column("detail", sa.String(64)),
    )


def downgrade() -> None:
    for table in ("audit_events", "login_challenges", "staff_sessions", "subject_keys",
                  "case_items", "cases", "staff_keys", "staff"):
        op.drop_table(table)
