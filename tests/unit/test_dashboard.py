"""The managers' pages from a synthetic month of coded events: every value shown is a value
of a protected table, the charts draw no hidden count, and only managers read them."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

from bot.escalation.tables import AuditEvent, Case
from bot.indicators.api import indicator_handlers
from bot.indicators.dashboard import dashboard, funnel_steps
from bot.indicators.disclosure import SMALL, THRESHOLD, WITHHELD
from bot.indicators.report import assemble
from tests.unit.test_escalation_api import World, make_world
from tests.unit.test_report import DECEMBER, month_of_events  # noqa: F401  (a fixture)


def _published(value: str) -> bool:
    return value in (SMALL, WITHHELD) or value.endswith("%") or int(value) >= THRESHOLD


def test_every_value_shown_is_a_published_cell(month_of_events):  # noqa: F811
    tables = assemble(month_of_events, "2026-11", DECEMBER)
    page = dashboard(tables)
    assert not page["provisional"] and not page["empty"]
    for card in page["figures"]:
        assert all(_published(v) for line in card["grid"] for v in line), card["key"]
        assert card["value"] == card["grid"][page["months"].index("2026-11")][-1]
    people = next(c for c in page["figures"] if c["key"] == "people")
    assert people["grid"][-2] == ["23", "<10", "23"]  # November: Telegram, Zalo (0), total
    steps = dict(funnel_steps(tables))
    assert steps["Người đã trò chuyện"] == "23"
    assert steps["Yêu cầu gặp tư vấn viên"] == tables.by_key["escalations"].row_total("2026-11")
    assert all(_published(v) for v in steps.values())
    assert page["headline"]["follow_ups_done"] == SMALL  # no callback in the month: 0 < 10


def test_charts_draw_no_hidden_count(month_of_events):  # noqa: F811
    page = dashboard(assemble(month_of_events, "2026-11", DECEMBER))
    for svg in [page["funnel"], *(c["chart"] for c in page["figures"])]:
        numbers = [t for t in re.findall(r">([^<>]+)</text>", svg) if t.strip().isdigit()]
        assert all(int(n) >= THRESHOLD for n in numbers), numbers
    assert "mục tiêu 5 phút" in page["times_chart"]
    times = page["headline"]["times"]
    assert times["first_reply_p50_min"] > 0  # 15 answered cases: times are published ...
    # ... but not the share within 5 minutes: 4 of 15, and the 15 itself is withheld.
    assert times["within_5_min"] is None


def test_the_share_within_5_minutes_shows_when_nothing_small_is_behind_it(database):
    database.migrate()
    with database.session() as session, session.begin():
        for n in range(40):  # 25 first replies within 2 minutes, 15 after 12
            opened = dt.datetime(2026, 11, 2, 8) + dt.timedelta(hours=n)
            code = f"AT-{n:05d}"
            session.add(Case(id=f"c{n}", code=code, risk="standard", risk_rank=2,
                             status="closed", recipients="", channel="telegram",
                             created_at=opened, claimed_at=opened + dt.timedelta(minutes=1),
                             closed_at=opened + dt.timedelta(minutes=30)))
            session.add(AuditEvent(at=opened + dt.timedelta(minutes=2 if n < 25 else 12),
                                   actor="s", action="reply", case_code=code))
    page = dashboard(assemble(database, "2026-11", DECEMBER))
    assert page["headline"]["times"]["within_5_min"] == pytest.approx(25 / 40)
    assert page["headline"]["answered_share"] == "100%"


@pytest.fixture
def world(tmp_path, monkeypatch, capsys, month_of_events):  # noqa: F811
    yield from make_world(tmp_path, monkeypatch, capsys, routes=lambda hub: indicator_handlers(
        hub, month_of_events, today=lambda: DECEMBER))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_only_managers_read_the_figures_and_the_report(world: World):
    manager = world.counselor("ha", role="manager").token
    counselor = world.counselor("thu").token
    assert world.http("GET", "/indicators?month=2026-11", counselor).status_code == 403
    assert world.http("GET", "/cases", manager).status_code == 403  # a manager reads no case
    page = world.http("GET", "/indicators?month=2026-11", manager)
    assert page.status_code == 200 and page.json()["label"] == "11/2026"
    assert world.http("GET", "/indicators?month=2026-13", manager).status_code == 400
    assert world.http("GET", "/indicators?month=2027-01", manager).status_code == 400
    empty = world.http("GET", "/indicators/report?month=2026-05&format=csv", manager)
    assert empty.status_code == 404 and "chưa có số liệu" in empty.json()["message"]
    csv = world.http("GET", "/indicators/report?month=2026-11&format=csv", manager).json()
    assert csv["filename"] == "bao-cao-2026-11.csv" and "people,2026-11,telegram,23" in csv["text"]
    pdf = world.http("GET", "/indicators/report?month=2026-11&format=pdf", manager).json()
    import base64
    assert base64.b64decode(pdf["base64"]).startswith(b"%PDF")
