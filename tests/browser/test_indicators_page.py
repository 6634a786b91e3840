"""The programme managers' page in Chromium, over a synthetic month of coded events: the
figures under disclosure control, the charts, clicking into a figure, and the report."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.escalation.policy import EscalationPolicy
from bot.escalation.service import ServerKeys
from bot.indicators.api import indicator_handlers
from bot.storage import Database
from tests.browser.conftest import Workspace, running
from tests.browser.flows import admin_makes_a_key, staff_member
from tests.helpers import free_port
from tests.unit.test_report import seed_month

pytestmark = pytest.mark.browser
DECEMBER = dt.date(2026, 12, 5)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    database = Database(f"sqlite:///{tmp_path / 'indicators.db'}")
    database.migrate()
    seed_month(database)  # the unit tests' synthetic month
    port = free_port()
    with running(Workspace(database, ServerKeys.ephemeral(), port,
                           EscalationPolicy(api_port=port),
                           routes=lambda hub: indicator_handlers(hub, database,
                                                                 today=lambda: DECEMBER))) as ws:
        yield ws


def test_a_manager_reads_the_month_and_clicks_into_a_figure(workspace, person):
    admin, manager = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, manager, workspace, "Phạm Thu Hà", "Hà", role="Quản lý chương trình",
                 home="Chỉ số chương trình")
    outside: list[str] = []
    manager.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        (workspace.url, "blob:", "data:")) else None)
    manager.goto(f"{workspace.url}/#/indicators/2026-11")
    heading = manager.get_by_role("heading", name="Chỉ số chương trình – tháng 11/2026")
    expect(heading).to_be_visible()

    tiles = manager.get_by_role("list", name="Chỉ số chính")
    within = tiles.locator("li", has_text="Trả lời trong 5 phút").locator(".tile-value")
    expect(within).to_have_text("x")  # 4 of 15: the share would tell the 4
    funnel = manager.get_by_role("img", name="Từ trò chuyện đến hỗ trợ")
    expect(funnel).to_be_visible()
    assert funnel.evaluate("img => img.naturalWidth") > 100  # the SVG loaded under the CSP
    expect(manager.get_by_role("img", name=re.compile("so với mục tiêu 5 phút"))).to_be_visible()
    if os.environ.get("ANTAM_SCREENSHOTS"):
        manager.screenshot(path=str(Path(os.environ["ANTAM_SCREENSHOTS"]) / "indicators.png"),
                           full_page=True)

    manager.locator("a[data-figure=turns]").click()
    expect(manager.get_by_role("heading", name="Tin nhắn được trả lời")).to_be_visible()
    november = manager.locator("table.figure-table tr", has_text="11/2026")
    expect(november.locator("td")).to_have_text([re.compile(r"^(x|\d\d+)$"), "<10",
                                                 re.compile(r"^(x|\d\d+)$")])
    expect(manager.get_by_text("Cách tính:")).to_be_visible()
    manager.get_by_role("link", name="← Tất cả chỉ số").click()

    with manager.expect_download() as download:
        manager.get_by_role("button", name="Tải CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "chi_so,thang,cot,gia_tri" in text and "turns,2026-11,zalo,<10" in text
    # The report's funnel, as a reader sees it: each label ends where its bar begins.
    with manager.expect_download() as download:
        manager.get_by_role("button", name="Tải HTML").click()
    report = person()
    report.set_content(Path(download.value.path()).read_text(encoding="utf-8"))
    funnel = report.locator("svg").first
    label = funnel.locator("text", has_text="Người đã trò chuyện").bounding_box()
    bar = funnel.locator("rect").first.bounding_box()
    assert label["x"] + label["width"] <= bar["x"] + 1 and label["y"] < bar["y"] + bar["height"]
    manager.goto(f"{workspace.url}/#/queue")  # no queue for a manager
    expect(manager.get_by_role("heading", name=re.compile("Chỉ số chương trình"))).to_be_visible()
    assert not outside, outside
