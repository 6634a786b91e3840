"""The managers' routes under /api/v1/indicators, on the workspace's server and log-in.

Only the ``manager`` role reads them. They serve the protected monthly tables and charts
(bot/indicators/dashboard.py) and the monthly report as HTML, CSV or PDF; never a case,
never a person.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.escalation.api import PREFIX, BadInput, Limits, Result, _Endpoint
from bot.escalation.errors import Forbidden, NotFound
from bot.escalation.hub import EscalationHub
from bot.indicators.dashboard import dashboard
from bot.indicators.monthly import month_problem
from bot.indicators.report import assemble, build, print_pdf
from bot.storage import Database

MANAGER_ROLES = ("manager",)
FORMATS = ("html", "csv", "pdf")


class _IndicatorsEndpoint(_Endpoint):
    def initialize(self, database: Database, today: Callable[[], dt.date],  # type: ignore[override]
                   **kwargs) -> None:
        super().initialize(**kwargs)
        self.database = database
        self.today = today

    async def manager(self) -> None:
        who = await self.principal()
        if who.role not in MANAGER_ROLES:
            raise Forbidden("Việc này cần vai trò quản lý chương trình.")

    def month(self) -> str:
        today = self.today()
        month = self.get_query_argument("month", f"{today.year:04d}-{today.month:02d}")
        problem = month_problem(month, today)
        if problem:
            raise BadInput(problem)
        return month


async def _dashboard(h: _IndicatorsEndpoint) -> Result:
    await h.manager()
    month = h.month()
    tables = await asyncio.to_thread(assemble, h.database, month, h.today())
    return 200, dashboard(tables)


async def _report(h: _IndicatorsEndpoint) -> Result:
    await h.manager()
    month, form = h.month(), h.get_query_argument("format", "html")
    if form not in FORMATS:
        raise BadInput("format must be html, csv or pdf")
    report = await asyncio.to_thread(build, h.database, month, h.today())
    if report.empty:
        raise NotFound(f"Tháng {month} chưa có số liệu nào: không có báo cáo.")
    name = f"bao-cao-{month}.{form}"
    if form == "csv":
        return 200, {"filename": name, "text": report.csv, "provisional": report.provisional}
    if form == "html":
        return 200, {"filename": name, "text": report.html, "provisional": report.provisional}
    pdf = await asyncio.to_thread(_pdf, report.html)
    if pdf is None:
        raise NotFound("Máy chủ không có Chromium để in PDF; hãy tải HTML và in từ trình duyệt.")
    return 200, {"filename": name, "base64": base64.b64encode(pdf).decode(),
                 "provisional": report.provisional}


def _pdf(page_html: str) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="antam-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(page_html, encoding="utf-8")
        pdf = print_pdf(page)
        return pdf.read_bytes() if pdf is not None else None


ROUTES = [
    ("/indicators", {"GET": _dashboard}),
    ("/indicators/report", {"GET": _report}),
]


def indicator_handlers(hub: EscalationHub, database: Database,
                       today: Callable[[], dt.date] = dt.date.today) -> list[tuple]:
    limits = Limits()
    return [(f"{PREFIX}{path}$", _IndicatorsEndpoint,
             {"hub": hub, "ops": ops, "route": path, "limits": limits, "database": database,
              "today": today})
            for path, ops in ROUTES]
