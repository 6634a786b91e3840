"""Tables. Nothing here can identify a person without the pseudonym key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, LargeBinary, String, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Participant(Base):
    """Someone who talked to the bot, known only by a keyed pseudonym."""

    __tablename__ = "participants"

    pseudonym: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # Days, not timestamps: enough for indicators, too coarse to match a log line.
    first_seen: Mapped[dt.date] = mapped_column(Date)
    last_seen: Mapped[dt.date] = mapped_column(Date)


class MonthlyContact(Base):
    """Someone who talked in a month, for the programme's count of people and of those who
    came back on another day. The token is a hash of the pseudonym and the month: one
    month's rows cannot be joined to another's, and /xoa deletes them."""

    __tablename__ = "monthly_contacts"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    last_day: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)


class TurnStat(Base):
    """One answered message, deliberately unlinked from any participant."""

    __tablename__ = "turn_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(64))
    crisis: Mapped[bool] = mapped_column(Boolean)
    degraded: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[int] = mapped_column(Integer)


class ExitMessage(Base):
    """A chat message a quick exit may delete: only its number, never its text.

    Telegram lets a bot delete messages for 48 hours; rows expire with them.
    """

    __tablename__ = "exit_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pseudonym: Mapped[str] = mapped_column(String(80), index=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class SeenEvent(Base):
    """An incoming event already handled (a Zalo message id, a Telegram update id, hashed),
    kept for the replay window so a replay is refused even after a restart. ``done`` is
    False while a worker holds it: if that worker dies, the claim expires and another
    worker takes the redelivered event."""

    __tablename__ = "seen_events"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    done: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The chat's pseudonym and the update's sequence: one chat's updates in order.
    chat: Mapped[str | None] = mapped_column(String(80), index=True, nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ButtonPayload(Base):
    """What a Telegram button does, behind the opaque token Telegram sees, so that any
    worker can answer a button another worker sent. Nothing here names a person."""

    __tablename__ = "button_payloads"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(String(512))


class UserMemoryRow(Base):
    """What a process remembers of one user between two messages, shared by bot workers
    (bot/storage/user_memory.py): sealed under a data key of the row's own, never read after
    it expires."""

    __tablename__ = "user_memory"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # namespace:pseudonym
    wrapped: Mapped[str] = mapped_column(String(200))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
