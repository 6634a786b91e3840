"""Escalation tables. Case content is stored only sealed to counselors' keys.

What the server itself must read back (where to send a counselor's reply,
where to notify a counselor) is envelope-encrypted under a per-subject data
key; deleting that key (``subject_keys``) crypto-shreds the subject's data.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base


class Staff(Base):
    """A counselor, supervisor or admin, known by a random id and a display name."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))  # counselor | supervisor | admin
    status: Mapped[str] = mapped_column(String(16))  # invited | active | removed
    enrolment_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrolment_expires: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Telegram chat for notifications, envelope-encrypted under subject "staff:<id>".
    notify_ref: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The name users see, chosen by the staff member: never their real name.
    alias: Mapped[str | None] = mapped_column(String(40))


class StaffKey(Base):
    """A public identity a counselor made on their own device; used once an admin signed it."""

    __tablename__ = "staff_keys"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    x25519: Mapped[bytes] = mapped_column(LargeBinary)
    ed25519: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # pending | active | retired | removed
    approval: Mapped[str | None] = mapped_column(String(200))  # admin's Ed25519 signature
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    risk: Mapped[str] = mapped_column(String(16))
    risk_rank: Mapped[int] = mapped_column(Integer, index=True)  # 0 = most urgent
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Pseudonymous subject ("user:<pseudonym>"); NULL once the user wiped their data.
    subject: Mapped[str | None] = mapped_column(String(100), index=True)
    routing: Mapped[bytes | None] = mapped_column(LargeBinary)  # envelope-encrypted
    recipients: Mapped[str] = mapped_column(Text)  # key ids, newline-separated, sorted
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    claimed_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    referred_to: Mapped[str | None] = mapped_column(String(64))
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    notify_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    next_item: Mapped[int] = mapped_column(Integer, default=1)
    # Chosen at intake: a neutral "new message" notice instead of the text on the lock
    # screen, and how many silent "still waiting" messages the user wants (0 or 1).
    discreet: Mapped[bool] = mapped_column(Boolean, default=True)
    user_reminders: Mapped[int] = mapped_column(Integer, default=1)
    user_reminded: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str | None] = mapped_column(String(16))  # "telegram", "zalo": no id
    last_user_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date)  # set at wrap-up


class CaseItem(Base):
    """The case itself (item 0) and each relayed message, sealed to the case's counselors."""

    __tablename__ = "case_items"
    __table_args__ = (UniqueConstraint("case_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    item: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(16))  # case | user | counselor
    sealed: Mapped[str] = mapped_column(Text)  # JSON from crypto.seal
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CaseItemShare(Base):
    """An item's data key wrapped for another key of a reader who could open it (after a
    rotation): the item's ciphertext and signature are unchanged."""

    __tablename__ = "case_item_shares"
    __table_args__ = (UniqueConstraint("case_id", "item", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    item: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(40))
    wrap: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CaseNote(Base):
    """A private note, sealed and signed on its author's device to the case's staff readers;
    never shown to the user. ``note_id`` is chosen by the author's client (it is bound into
    the note's AAD and signature)."""

    __tablename__ = "case_notes"
    __table_args__ = (UniqueConstraint("case_id", "note_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    note_id: Mapped[int] = mapped_column(BigInteger)
    author: Mapped[str] = mapped_column(String(40))  # staff id
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class CaseWrapUp(Base):
    """The coded wrap-up of a closed case, for the programme's indicators: no case id, no
    staff id, no free text, only the month; kept only with the user's consent to be
    counted, so it can never be joined back to a case or a person."""

    __tablename__ = "case_wrapups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # "2026-11"
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    kinds: Mapped[str] = mapped_column(String(200))  # comma-separated codes
    contexts: Mapped[str] = mapped_column(String(100))
    referrals: Mapped[str] = mapped_column(String(400))  # contact ids
    safety_plan: Mapped[bool] = mapped_column(Boolean)
    follow_up: Mapped[bool] = mapped_column(Boolean)


class KeyRevocation(Base):
    """An admin's signature ending a key ("retired" by a newer one, or "removed"). Without a
    valid one a key stays usable whatever its status column says, and with one it never
    is again: status flags alone are not trusted."""

    __tablename__ = "key_revocations"

    key_id: Mapped[str] = mapped_column(ForeignKey("staff_keys.key_id"), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[str] = mapped_column(String(24))  # as signed: "2026-11-29T08:00:00Z"
    signature: Mapped[str] = mapped_column(String(200))


class HeldMessage(Base):
    """A message for a user who chose discreet delivery, until they tap "Xem": envelope-
    encrypted under the user's data key, so /xoa shreds it too."""

    __tablename__ = "held_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class SubjectKey(Base):
    """A data key per subject, wrapped by a key-encryption key from the environment."""

    __tablename__ = "subject_keys"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    wrapped: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # A staff id, or "admin:<key id>" for an admin key configured in the environment.
    staff_id: Mapped[str] = mapped_column(String(60), index=True)
    role: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    # HMAC of the row under ANTAM_SESSION_KEY: a row written or changed by anyone without
    # that key authenticates nobody.
    mac: Mapped[str] = mapped_column(String(64))


class LoginChallenge(Base):
    __tablename__ = "login_challenges"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """Who did what to which case: never content."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(40))  # staff id, or "system" / "user"
    action: Mapped[str] = mapped_column(String(32))
    case_code: Mapped[str | None] = mapped_column(String(16), index=True)
    detail: Mapped[str | None] = mapped_column(String(64))  # e.g. an outcome name


class OutboxMessage(Base):
    """A message accepted for delivery outside a user's turn, until a process that serves
    its channel has sent it: a worker that dies after accepting it loses nothing. Address and
    text are sealed under a data key of the row's own, wrapped by the environment's key."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)  # "telegram", "zalo"
    wrapped: Mapped[str] = mapped_column(String(200))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # claimable from then
    attempts: Mapped[int] = mapped_column(Integer, default=0)
