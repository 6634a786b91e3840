"""Who did what to which case, never content: written inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.escalation.tables import AuditEvent
from bot.escalation.views import Principal, require_role
from bot.storage import Database


def record(session: Session, at: dt.datetime, actor: str, action: str,
           code: str | None = None, detail: str | None = None) -> None:
    session.add(AuditEvent(at=at, actor=actor, action=action, case_code=code, detail=detail))


class AuditLog:
    def __init__(self, database: Database, clock: Callable[[], dt.datetime]):
        self._db = database
        self._clock = clock

    def record(self, session: Session, actor: str, action: str, code: str | None = None,
               detail: str | None = None) -> None:
        record(session, self._clock(), actor, action, code, detail)

    def read(self, actor: Principal, limit: int = 200) -> list[dict]:
        require_role(actor, "admin")
        with self._db.session() as session:
            rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())
                                   .limit(limit))
            return [{"at": r.at.isoformat() + "Z", "actor": r.actor, "action": r.action,
                     "case": r.case_code, "detail": r.detail} for r in rows]
