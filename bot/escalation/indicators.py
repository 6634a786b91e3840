"""Counts for programme managers: never an identifier, never content."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.escalation.tables import Case
from bot.storage import Database


class Indicators:
    def __init__(self, database: Database):
        self._db = database

    def outcome_counts(self) -> dict[str, int]:
        """Closed cases per outcome."""
        with self._db.session() as session:
            rows = session.execute(select(Case.outcome, func.count()).where(
                Case.status == "closed").group_by(Case.outcome)).all()
        return {outcome: count for outcome, count in rows}

    def summary(self) -> dict[str, dict[str, int]]:
        """Requests by risk and status, and outcomes."""
        with self._db.session() as session:
            by_risk = dict(session.execute(select(Case.risk, func.count())
                                           .group_by(Case.risk)).all())
            by_status = dict(session.execute(select(Case.status, func.count())
                                             .group_by(Case.status)).all())
        return {"requests_by_risk": by_risk, "requests_by_status": by_status,
                "outcomes": self.outcome_counts()}
