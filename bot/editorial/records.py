"""Proposed content changes and published versions.

A version is a whole file as it went live, with who wrote it, who approved it and why.
Staff are named by their staff id and display name, as in the audit log; no user data
is ever here."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base


class ContentVersion(Base):
    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(String(40), index=True)
    sha: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    entry: Mapped[str | None] = mapped_column(String(80))  # None: the whole file
    author_id: Mapped[str] = mapped_column(String(40))
    author: Mapped[str] = mapped_column(String(80))
    approver_id: Mapped[str | None] = mapped_column(String(40))
    approver: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    retrain: Mapped[bool] = mapped_column(Boolean, default=False)  # example questions changed


class ContentChange(Base):
    __tablename__ = "content_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(String(40), index=True)
    entry: Mapped[str | None] = mapped_column(String(80))
    base_sha: Mapped[str] = mapped_column(String(64))  # the file it was written against
    text: Mapped[str] = mapped_column(Text)  # the whole proposed file
    author_id: Mapped[str] = mapped_column(String(40))
    author: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|published|rejected
    reviewer_id: Mapped[str | None] = mapped_column(String(40))
    reviewer: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(500))  # a reviewer's reason to reject
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
