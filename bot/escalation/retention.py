"""What is kept, and for how long: retention of finished cases, and the user's own wipe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, select

from bot.escalation.audit import AuditLog
from bot.escalation.cases import CaseBook
from bot.escalation.policy import EscalationPolicy
from bot.escalation.tables import AuditEvent, Case, CaseItem, LoginChallenge, StaffSession
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
        """Delete cases finished before the retention period, and stale sessions."""
        now = self._clock()
        cutoff = now - dt.timedelta(days=self._policy.retention_days)
        with self._db.session() as session, session.begin():
            old = session.scalars(select(Case).where(
                (Case.closed_at < cutoff) | (Case.created_at < cutoff))).all()
            for case in old:
                session.execute(delete(CaseItem).where(CaseItem.case_id == case.id))
                session.delete(case)
            session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
            session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < now))
            session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
            if old:
                self._audit.record(session, "system", "purge", detail=str(len(old)))
        return len(old)

    def shred(self, subject: str) -> list[tuple[str, str | None]]:
        """The user wiped their data: their data key and messages go, cases lose their link.

        Without the subject key the routing of every case of theirs is unreadable, even in
        a backup taken before. Outcome and risk stay, unlinked, for the indicators.
        """
        ended = self._cases.user_end(subject)
        with self._db.session() as session, session.begin():
            for case in session.scalars(select(Case).where(Case.subject == subject)):
                session.execute(delete(CaseItem).where(CaseItem.case_id == case.id))
                case.subject, case.routing = None, None
                self._audit.record(session, "user", "shred", case.code)
            self._vault.shred(session, subject)
        return ended
