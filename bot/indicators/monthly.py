"""The programme's monthly figures, counted from coded fields only: turn statistics (never
linked to a person), who talked in the month (a month-scoped token, never the pseudonym),
case times and statuses, the audit log's actions, and the coded
wrap-ups kept with the user's consent to be counted. Never sealed content, never an id.

Each figure is a count by month and channel (the finest breakdown published), attributed to
the month its event happened in, so a closed month's figures do not change afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.escalation.tables import AuditEvent, Case, CaseWrapUp
from bot.storage import Database
from bot.storage.models import MonthlyContact, TurnStat

CHANNELS = ("telegram", "zalo")
DISCLOSURES = {"report_domestic_violence": "domestic", "report_sexual_violence": "sexual",
               "report_workplace_harassment": "workplace",
               "report_online_abuse": "online"}
AWARENESS = {"start_quiz": "quiz", "selfcheck_start": "selfcheck",
             "ask_is_it_abuse": "explainer"}
# What became of each request for a counselor: one status each, so the statuses add up to
# the requests and are published as one table (no status can be had by subtraction).
STATUSES = ("answered", "claimed", "abandoned", "waiting")
FIVE_MINUTES_S = 300
MIN_CASES_FOR_TIMES = 10  # a time statistic over fewer cases is not published


@dataclass
class Month:
    """One month's counts: figure -> channel -> count, and the response times."""

    month: str
    counts: dict[str, Counter] = field(default_factory=dict)
    first_reply_s: list[float] = field(default_factory=list)
    waits_s: list[float] = field(default_factory=list)
    handle_s: list[float] = field(default_factory=list)
    complete: bool = True  # False for the month in progress: its figures are provisional

    def add(self, figure: str, channel: str | None, n: int = 1) -> None:
        """Count one event of ``figure`` on ``channel``."""
        self.tally(figure, channel if channel in CHANNELS else "other", n)

    def tally(self, figure: str, column: str, n: int = 1) -> None:
        """Count one event of ``figure`` in ``column`` (a channel, a status, an outcome…)."""
        self.counts.setdefault(figure, Counter())[column] += n

    def count(self, figure: str, column: str) -> int:
        return self.counts.get(figure, Counter())[column]

    def times(self) -> dict[str, float] | None:
        """Response times, only over enough cases to say nothing about any one."""
        if len(self.first_reply_s) < MIN_CASES_FOR_TIMES:
            return None
        replies = sorted(self.first_reply_s)
        return {"first_reply_p50_min": statistics.median(replies) / 60,
                "first_reply_p90_min": _percentile(replies, 0.9) / 60,
                "within_5_min": sum(s <= FIVE_MINUTES_S for s in replies) / len(replies),
                "longest_wait_min": max(self.waits_s, default=0) / 60,
                "handle_p50_min": (statistics.median(self.handle_s) / 60
                                   if len(self.handle_s) >= MIN_CASES_FOR_TIMES else None)}


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def well_formed(month: str) -> bool:
    return bool(_MONTH.match(month or ""))


def month_problem(month: str, today: dt.date) -> str | None:
    """Why there can be no figures for ``month``, in Vietnamese, or None."""
    if not well_formed(month):
        return "Tháng phải có dạng YYYY-MM, ví dụ 2026-11."
    if month > month_of(today):
        return f"Tháng {vn_month(month)} chưa đến."
    return None


def vn_month(month: str) -> str:
    """"2026-11" as Vietnamese readers write it: "11/2026"."""
    year, number = month.split("-")
    return f"{int(number)}/{year}"


def month_of(moment: dt.date | dt.datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def months_until(last: str, count: int) -> list[str]:
    """``count`` months ending with ``last`` ("YYYY-MM"), oldest first."""
    year, month = (int(part) for part in last.split("-"))
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


def collect(database: Database, months: Iterable[str], today: dt.date) -> dict[str, Month]:
    """Every figure for these months ("YYYY-MM")."""
    found = {m: Month(m, complete=m < month_of(today)) for m in months}
    first, last = _bounds(sorted(found))
    with database.session() as session:
        _turns(session, found, first, last)
        _people(session, found)
        _cases(session, found, first, last)
        _wrapups(session, found)
    return found


def _bounds(months: list[str]) -> tuple[dt.datetime, dt.datetime]:
    first = dt.datetime.strptime(months[0], "%Y-%m")
    year, month = (int(p) for p in months[-1].split("-"))
    last = dt.datetime(year + month // 12, month % 12 + 1, 1)
    return first, last


def _turns(session, found: dict[str, Month], first: dt.datetime, last: dt.datetime) -> None:
    rows = session.execute(select(TurnStat.day, TurnStat.channel, TurnStat.intent,
                                  TurnStat.crisis, TurnStat.degraded)
                           .where(TurnStat.day >= first.date(), TurnStat.day < last.date()))
    for day, channel, intent, crisis, degraded in rows:
        month = found.get(month_of(day))
        if month is None:
            continue
        month.add("turns", channel)
        if crisis:
            month.add("crisis_replies", channel)
        if degraded:
            month.add("degraded_replies", channel)
        if intent in DISCLOSURES:
            month.add(f"disclosure_{DISCLOSURES[intent]}", channel)
        if intent in AWARENESS:
            month.add(f"awareness_{AWARENESS[intent]}", channel)


def _people(session, found: dict[str, Month]) -> None:
    rows = session.execute(select(MonthlyContact.month, MonthlyContact.channel,
                                  MonthlyContact.days)
                           .where(MonthlyContact.month.in_(list(found))))
    for month, channel, days in rows:
        found[month].add("people", channel)
        if days > 1:
            found[month].add("returning", channel)


def _cases(session, found: dict[str, Month], first: dt.datetime, last: dt.datetime) -> None:
    cases = session.execute(select(Case.code, Case.channel, Case.created_at, Case.claimed_at,
                                   Case.closed_at, Case.status, Case.outcome)
                            .where(Case.created_at >= first, Case.created_at < last)).all()
    codes = [c.code for c in cases]
    replies = _first_actions(session, codes, "reply")
    ended = _first_actions(session, codes, "end")
    for case in cases:
        month = found[month_of(case.created_at)]
        month.tally("escalations", _status(case, replies, ended))
        if case.claimed_at is not None:
            month.waits_s.append((case.claimed_at - case.created_at).total_seconds())
        if case.code in replies:
            month.first_reply_s.append((replies[case.code] - case.created_at).total_seconds())
        if case.claimed_at is not None and case.closed_at is not None:
            month.handle_s.append((case.closed_at - case.claimed_at).total_seconds())


def _status(case, replies: dict, ended: dict) -> str:
    if case.code in replies:
        return "answered"
    if case.claimed_at is not None:
        return "claimed"
    if case.code in ended or case.status == "closed":
        return "abandoned"
    return "waiting"


def _first_actions(session, codes: list[str], action: str) -> dict[str, dt.datetime]:
    first: dict[str, dt.datetime] = {}
    for start in range(0, len(codes), 500):
        rows = session.execute(select(AuditEvent.case_code, AuditEvent.at)
                               .where(AuditEvent.action == action,
                                      AuditEvent.case_code.in_(codes[start:start + 500])))
        for code, at in rows:
            if code not in first or at < first[code]:
                first[code] = at
    return first


def _wrapups(session, found: dict[str, Month]) -> None:
    rows = session.scalars(select(CaseWrapUp).where(CaseWrapUp.month.in_(list(found))))
    for wrapup in rows:
        month = found[wrapup.month]
        month.tally("outcomes", wrapup.outcome)
        for kind in filter(None, wrapup.kinds.split(",")):
            month.tally("kinds", kind)
        for referral in filter(None, wrapup.referrals.split(",")):
            month.tally("referrals", referral)
        if wrapup.safety_plan:
            month.add("safety_plans", wrapup.channel)
        if wrapup.follow_up:
            month.add("follow_ups", wrapup.channel)


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
