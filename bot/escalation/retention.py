"""What is kept, and for how long: retention of finished cases, and the user's own wipe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from bot.escalation.audit import AuditLog
from bot.escalation.cases import CaseBook
from bot.escalation.policy import EscalationPolicy
from bot.escalation.tables import (
    AuditEvent,
    Case,
    CaseItem,
    CaseItemShare,
    HeldMessage,
    LoginChallenge,
    StaffSession,
    SubjectKey,
)
from bot.escalation.vault import SubjectVault
from bot.storage import Database


class Retention:
    def __init__(self, database: Database, cases: CaseBook, vault: SubjectVault,
                 policy: EscalationPolicy, audit: AuditLog, clock: Callable[[], dt.datetime]):
        self._db = database
        self._cases = cases
        self._vault = vault
        self._policy = policy
        self._audit = audit
        self._clock = clock

    def purge(self) -> int:
        """Delete cases finished before the retention period, what was held for their users,
        the data keys no case needs any more, and stale sessions."""
        now = self._clock()
        cutoff = now - dt.timedelta(days=self._policy.retention_days)
        with self._db.session() as session, session.begin():
            old = session.scalars(select(Case).where(
                (Case.closed_at < cutoff) | (Case.created_at < cutoff))).all()
            for case in old:
                _delete_content(session, case.id)
                session.delete(case)
            session.flush()
            session.execute(delete(HeldMessage).where(HeldMessage.created_at < cutoff))
            _drop_unused_user_keys(session)
            session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
            session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < now))
            session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
            if old:
                self._audit.record(session, "system", "purge", detail=str(len(old)))
        return len(old)

    def shred(self, subject: str) -> list[tuple[str, str | None, str | None]]:
        """The user wiped their data: their data key, messages and anything held for them
        go, and cases lose their link.

        Without the subject key the routing of every case of theirs is unreadable, even in
        a backup taken before. Outcome and risk stay, unlinked, for the indicators.
        """
        ended = self._cases.user_end(subject)
        with self._db.session() as session, session.begin():
            for case in session.scalars(select(Case).where(Case.subject == subject)):
                _delete_content(session, case.id)
                case.subject, case.routing = None, None
                self._audit.record(session, "user", "shred", case.code)
            session.execute(delete(HeldMessage).where(HeldMessage.subject == subject))
            self._vault.shred(session, subject)
        return ended


def _delete_content(session: Session, case_id: str) -> None:
    session.execute(delete(CaseItemShare).where(CaseItemShare.case_id == case_id))
    session.execute(delete(CaseItem).where(CaseItem.case_id == case_id))


def _drop_unused_user_keys(session: Session) -> None:
    """A user's data key lives as long as a case or a held message of theirs does."""
    in_use = (exists().where(Case.subject == SubjectKey.subject)
              | exists().where(HeldMessage.subject == SubjectKey.subject))
    session.execute(delete(SubjectKey).where(SubjectKey.subject.like("user:%"), ~in_use)
                    .execution_options(synchronize_session=False))
