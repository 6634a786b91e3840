"""Per-subject data keys for what the server itself must read back (where to reach a user,
where to notify a counselor). Deleting a subject's key crypto-shreds all of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.escalation.envelope import Keyring, new_dek, open_field, seal_field
from bot.escalation.tables import SubjectKey
from bot.storage import Database


class SubjectVault:
    def __init__(self, database: Database, keyring: Keyring, clock: Callable[[], dt.datetime]):
        self._db = database
        self._keyring = keyring
        self._clock = clock

    def _dek(self, session: Session, subject: str, create: bool) -> bytes | None:
        row = session.get(SubjectKey, subject)
        if row is None:
            if not create:
                return None
            dek = new_dek()
            session.add(SubjectKey(subject=subject, wrapped=self._keyring.wrap(dek, subject),
                                   created_at=self._clock()))
            return dek
        return self._keyring.unwrap(row.wrapped, subject)

    def seal(self, session: Session, subject: str, purpose: str, value: str) -> bytes:
        dek = self._dek(session, subject, create=True)
        return seal_field(dek, value.encode(), f"{purpose}\0{subject}".encode())

    def open(self, session: Session, subject: str | None, purpose: str,
             blob: bytes | None) -> str | None:
        """The plaintext, or None once the subject's key was shredded."""
        if subject is None or blob is None:
            return None
        dek = self._dek(session, subject, create=False)
        if dek is None:
            return None
        return open_field(dek, blob, f"{purpose}\0{subject}".encode()).decode()

    @staticmethod
    def shred(session: Session, subject: str) -> None:
        session.execute(delete(SubjectKey).where(SubjectKey.subject == subject))

    def rotate(self) -> int:
        """Re-wrap every subject key under the newest key-encryption key; returns how many."""
        moved = 0
        with self._db.session() as session, session.begin():
            for row in session.scalars(select(SubjectKey)):
                if self._keyring.needs_rewrap(row.wrapped):
                    row.wrapped = self._keyring.rewrap(row.wrapped, row.subject)
                    moved += 1
        return moved
