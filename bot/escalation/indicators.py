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

    def by_risk_and_status(self) -> tuple[list[str], list[str], list[list[int]]]:
        """Requests as one table, risk by status: its margins are the counts by risk and by
        status, so disclosure control sees how the two relate (bot/indicators/)."""
        with self._db.session() as session:
            pairs = dict(((risk, status), n) for risk, status, n in session.execute(
                select(Case.risk, Case.status, func.count()).group_by(Case.risk, Case.status)))
        risks = sorted({r for r, _ in pairs})
        statuses = sorted({s for _, s in pairs})
        return risks, statuses, [[pairs.get((r, s), 0) for s in statuses] for r in risks]

    def summary(self) -> dict[str, dict[str, int]]:
        """Requests by risk and status, and outcomes."""
        with self._db.session() as session:
            by_risk = dict(session.execute(select(Case.risk, func.count())
                                           .group_by(Case.risk)).all())
            by_status = dict(session.execute(select(Case.status, func.count())
                                             .group_by(Case.status)).all())
        return {"requests_by_risk": by_risk, "requests_by_status": by_status,
                "outcomes": self.outcome_counts()}
