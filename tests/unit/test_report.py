"""The monthly report built from a synthetic month of coded events: protected tables in
HTML and CSV, response times only over enough cases, and the PDF printed by Chromium."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

from bot.escalation.tables import AuditEvent, Case, CaseWrapUp
from bot.indicators.disclosure import SMALL, THRESHOLD, WITHHELD
from bot.indicators.report import build, write
from bot.storage import Database
from bot.storage.database import add_turn
from bot.storage.models import TurnStat

DECEMBER = dt.date(2026, 12, 5)


@pytest.fixture
def month_of_events(database) -> Database:
    """A synthetic month on SQLite and on the real PostgreSQL (conftest's ``database``)."""
    database.migrate()
    seed_month(database)
    return database


def seed_month(db: Database) -> None:
    """November 2026 (and some of October): turns, people, 17 requests, 11 wrap-ups."""
    with db.session() as session, session.begin():
        _turns(session, dt.date(2026, 11, 3), "telegram", 150, crisis=12)
        _turns(session, dt.date(2026, 11, 4), "zalo", 4, crisis=2)
        _turns(session, dt.date(2026, 10, 9), "telegram", 80, crisis=3)
        _turns(session, dt.date(2026, 10, 9), "zalo", 30, crisis=0)
        for n in range(23):  # 23 people on Telegram in November, 12 of them on two days
            for day in (5, 6) if n < 12 else (5,):
                add_turn(session, f"p-{n}", "telegram", "greet", False, False, 30,
                         today=dt.date(2026, 11, day))
        for n in range(17):
            _case(session, n, "telegram" if n < 14 else "zalo", claimed=n not in (12, 13))
        for n in range(11):
            session.add(CaseWrapUp(month="2026-11", channel="telegram", outcome="safety_plan",
                                   kinds="physical", contexts="domestic", referrals="",
                                   safety_plan=True, follow_up=n < 3))


def _turns(session, day: dt.date, channel: str, count: int, crisis: int) -> None:
    for n in range(count):
        session.add(TurnStat(day=day, channel=channel, intent="report_domestic_violence"
                             if n % 5 == 0 else "greet", crisis=n < crisis, degraded=False,
                             latency_ms=40))


def _case(session, n: int, channel: str, claimed: bool) -> None:
    opened = dt.datetime(2026, 11, 10, 9, 0) + dt.timedelta(hours=n)
    code = f"AT-{n:05d}"
    session.add(Case(id=f"case-{n}", code=code, risk="standard", risk_rank=2,
                     status="closed" if claimed else "closed", recipients="", channel=channel,
                     created_at=opened,
                     claimed_at=opened + dt.timedelta(minutes=1 + n % 4) if claimed else None,
                     closed_at=opened + dt.timedelta(minutes=40)))
    if claimed:
        session.add(AuditEvent(at=opened + dt.timedelta(minutes=2 + n), actor="s",
                               action="reply", case_code=code))
    else:
        session.add(AuditEvent(at=opened + dt.timedelta(minutes=3), actor="user",
                               action="end", case_code=code))


def _cells(page: str) -> list[str]:
    return re.findall(r"<td>([^<]*(?:&lt;10)?[^<]*)</td>", page)


def test_no_published_count_is_below_10_and_hidden_ones_take_a_partner(month_of_events):
    report = build(month_of_events, "2026-11", DECEMBER)
    assert not report.provisional and not report.empty
    values = [v.replace("&lt;", "<") for v in _cells(report.html)]
    assert values and all(v in (SMALL, WITHHELD) or int(v) >= THRESHOLD for v in values)
    published = {tuple(line.split(",")[:3]): line.split(",")[3]
                 for line in report.csv.splitlines()[1:]}
    assert published[("people", "2026-11", "telegram")] == "23"
    assert published[("returning", "2026-11", "telegram")] == "12"
    assert published[("turns", "2026-11", "zalo")] == SMALL, "4 Zalo messages"
    assert WITHHELD in (published[("turns", "2026-11", "telegram")],
                        published[("turns", "2026-11", "cong")]), "nor by subtraction"
    # ... nor 34 - 30 down the Zalo column: the classic rectangle of four hidden cells.
    assert [published[("turns", "2026-10", c)] for c in ("telegram", "zalo", "cong")] == [
        WITHHELD, WITHHELD, "110"]
    # 17 requests: 15 answered, 2 abandoned. The 2 is hidden, and so is whatever would
    # give it away (17 - 15), inside the one table where the statuses add up.
    statuses = {c: published[("escalations", "2026-11", c)]
                for c in ("answered", "claimed", "abandoned", "waiting", "cong")}
    assert statuses["abandoned"] == SMALL
    assert WITHHELD in (statuses["answered"], statuses["cong"])
    assert "Báo cáo tháng 11/2026" in report.html and "Số liệu chính thức" in report.html
    assert "trả lời trong 5 phút" in report.html  # 15 answered cases: times are published


def test_a_month_in_progress_is_provisional_and_an_empty_one_says_so(month_of_events):
    running = build(month_of_events, "2026-11", dt.date(2026, 11, 20))
    assert running.provisional and "Số liệu tạm thời" in running.html
    nothing = build(month_of_events, "2027-03", dt.date(2027, 4, 2))
    assert nothing.empty and "Chưa có số liệu" in nothing.html
    assert "chưa công bố (dưới 10 ca" in nothing.html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_the_report_is_written_as_html_csv_and_pdf(month_of_events, tmp_path):
    written = write(build(month_of_events, "2026-11", DECEMBER), tmp_path / "out")
    assert [p.suffix for p in written] == [".html", ".csv", ".pdf"]
    assert written[2].read_bytes().startswith(b"%PDF") and written[2].stat().st_size > 5000


def test_the_command_refuses_a_month_without_data_and_writes_nothing(month_of_events, tmp_path,
                                                                     capsys):
    from bot.indicators.cli import run

    out = tmp_path / "reports"
    assert run(month_of_events, "2027-03", out, dt.date(2027, 4, 2)) == 1
    assert run(month_of_events, "2026-13", out, DECEMBER) == 2
    assert run(month_of_events, "2027-01", out, DECEMBER) == 1  # not yet come
    assert not out.exists(), "nothing written"
    said = capsys.readouterr().err
    assert "chưa có số liệu" in said and "YYYY-MM" in said and "chưa đến" in said
    assert run(month_of_events, "2026-12", out, DECEMBER) == 1  # in progress, but nothing yet
    assert run(month_of_events, "2026-11", out, dt.date(2026, 11, 28)) == 0
    assert "tạm thời" in capsys.readouterr().out
    assert (out / "bao-cao-2026-11.csv").exists()
