"""The monthly report for programme managers: every figure as a table of the last six months
by channel, protected (bot/indicators/disclosure.py), as HTML with charts, CSV, and PDF
(printed by the machine's headless Chromium when there is one). Text is Vietnamese.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.indicators import charts
from bot.indicators.disclosure import THRESHOLD, WITHHELD, Published, protect, share
from bot.indicators.monthly import (
    CHANNELS,
    FIVE_MINUTES_S,
    Month,
    collect,
    months_until,
    vn_month,
)
from bot.storage import Database

MONTHS_SHOWN = 6
# What each figure is called in the report, in the order of the funnel.
FIGURES = (
    ("people", "Người đã trò chuyện"),
    ("returning", "Người quay lại vào một ngày khác trong tháng"),
    ("turns", "Tin nhắn được trả lời"),
    ("disclosure_domestic", "Chia sẻ về bạo lực gia đình"),
    ("disclosure_sexual", "Chia sẻ về bạo lực tình dục"),
    ("disclosure_workplace", "Chia sẻ về quấy rối nơi làm việc"),
    ("disclosure_online", "Chia sẻ về bạo lực trên mạng"),
    ("crisis_replies", "Lần gửi số khẩn cấp"),
    ("safety_plans", "Kế hoạch an toàn đã lập"),
    ("follow_ups", "Ca có hẹn theo dõi"),
    ("awareness_quiz", "Lượt làm câu đố"),
    ("awareness_selfcheck", "Lượt tự kiểm tra"),
    ("awareness_explainer", "Lượt xem giải thích"),
    ("degraded_replies", "Trả lời ở chế độ dự phòng"),
)
# Figures broken down by something else than the channel: each is one table whose columns
# are mutually exclusive where they can be (a request has one status), so that no column can
# be had by subtracting the others from a total published elsewhere.
BREAKDOWNS = (
    ("escalations", "Yêu cầu gặp tư vấn viên, theo kết quả",
     {"answered": "Đã được trả lời", "claimed": "Đã nhận, chưa trả lời",
      "abandoned": "Bỏ dở trước khi được nhận", "waiting": "Đang chờ"}),
    ("outcomes", "Kết quả ca (người dùng đồng ý được thống kê)",
     {"information_given": "Cung cấp thông tin", "referred": "Chuyển gửi",
      "safety_plan": "Kế hoạch an toàn", "callback_done": "Đã gọi lại",
      "could_not_reach": "Không liên lạc được", "user_ended": "Người dùng kết thúc"}),
    ("kinds", "Loại bạo lực được ghi nhận (một ca có thể nhiều loại)",
     {"physical": "Thể chất", "sexual": "Tình dục", "psychological": "Tinh thần",
      "economic": "Kinh tế", "online": "Trên mạng",
      "workplace_sexual_harassment": "Quấy rối tình dục nơi làm việc"}),
)
CHANNEL_LABELS = {"telegram": "Telegram", "zalo": "Zalo"}


@dataclass(frozen=True)
class Tables:
    """Every protected table of one report: the month, the six months shown, the raw monthly
    figures (for response times) and, by figure, what may be published."""

    month: str
    months: list[str]
    figures: dict[str, Month]
    by_key: dict[str, Published]

    @property
    def provisional(self) -> bool:
        return not self.figures[self.month].complete

    @property
    def empty(self) -> bool:
        return not any(self.figures[self.month].counts.values())


@dataclass(frozen=True)
class Report:
    month: str
    provisional: bool
    empty: bool
    html: str
    csv: str


def assemble(database: Database, month: str, today: dt.date) -> Tables:
    """The protected tables of the six months up to ``month``: what the report and the
    managers' pages publish, and all they publish."""
    months = months_until(month, MONTHS_SHOWN)
    figures = collect(database, months, today)
    tables = {key: _table(figures, months, key, CHANNELS) for key, _ in FIGURES}
    for key, _, columns in BREAKDOWNS:
        tables[key] = _table(figures, months, key, tuple(columns))
    tables["referrals"] = _table(figures, months, "referrals", _referrals(figures))
    return Tables(month, months, figures, tables)


def build(database: Database, month: str, today: dt.date) -> Report:
    tables = assemble(database, month, today)
    return Report(month, tables.provisional, tables.empty, _html(tables),
                  _csv(tables.months, tables.by_key))


def published_times(tables: Tables, month: str) -> dict | None:
    """The month's response times as they may be published: None under 10 answered cases.
    The share answered within 5 minutes is a percentage of the answered requests, so it is
    shown only when that count is shown in the requests table and when the requests within
    and beyond 5 minutes are each 10 or more; otherwise it is None (shown as x)."""
    figures = tables.figures[month]
    times = figures.times()
    if times is None:
        return None
    answered = tables.by_key["escalations"].shown(("cell", tables.months.index(month), 0))
    count = len(figures.first_reply_s)
    within = sum(s <= FIVE_MINUTES_S for s in figures.first_reply_s)
    if answered is None or min(within, count - within) < THRESHOLD:
        times = times | {"within_5_min": None}
    return times


def funnel_steps(tables: Tables) -> list[tuple[str, str]]:
    """From talking to help, in the month: each step a published cell of a table above, never
    a new sum (which could give a hidden cell away)."""
    month, t = tables.month, tables.by_key
    return [
        ("Người đã trò chuyện", t["people"].row_total(month)),
        ("Kể về bạo lực gia đình", t["disclosure_domestic"].row_total(month)),
        ("Kể về bạo lực tình dục", t["disclosure_sexual"].row_total(month)),
        ("Kể về quấy rối nơi làm việc", t["disclosure_workplace"].row_total(month)),
        ("Kể về bạo lực trên mạng", t["disclosure_online"].row_total(month)),
        ("Nhận số khẩn cấp", t["crisis_replies"].row_total(month)),
        ("Yêu cầu gặp tư vấn viên", t["escalations"].row_total(month)),
        ("Được tư vấn viên trả lời", t["escalations"].cell(month, "answered")),
    ]


def write(report: Report, directory: Path) -> list[Path]:
    """report-YYYY-MM.html, .csv and, when Chromium is installed, .pdf."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"bao-cao-{report.month}"
    page, table = stem.with_suffix(".html"), stem.with_suffix(".csv")
    page.write_text(report.html, encoding="utf-8")
    table.write_text(report.csv, encoding="utf-8")
    written = [page, table]
    pdf = print_pdf(page)
    if pdf is not None:
        written.append(pdf)
    return written


def print_pdf(page: Path) -> Path | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    pdf = page.with_suffix(".pdf")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    return pdf


def _table(figures: dict[str, Month], months: list[str], key: str,
           columns: tuple[str, ...]) -> Published:
    counts = [[figures[m].count(key, column) for column in columns] for m in months]
    return protect(months, columns, counts) if columns else protect(months, ("-",),
                                                                    [[0] for _ in months])


def _referrals(figures: dict[str, Month]) -> tuple[str, ...]:
    """The services referred to in these months (contact ids from content/)."""
    return tuple(sorted({c for m in figures.values() for c in m.counts.get("referrals", {})}))


# --- HTML --------------------------------------------------------------------------------


def _html(t: Tables) -> str:
    month, months, tables = t.month, t.months, t.by_key
    status = ("Số liệu tạm thời: tháng chưa kết thúc." if t.provisional
              else "Số liệu chính thức của tháng.")
    parts = [f"<h1>Báo cáo tháng {html.escape(vn_month(month))}</h1>",
             f"<p class='status'>{status}</p>"]
    if t.empty:
        parts.append("<p>Chưa có số liệu nào cho tháng này.</p>")
    parts.append(_rate_lines(t))
    parts.append(f"<section><h2>Từ trò chuyện đến hỗ trợ</h2>"
                 f"{charts.funnel(funnel_steps(t))}</section>")
    parts.append(f"<section><h2>Thời gian đến lời trả lời đầu tiên</h2>"
                 f"{charts.response_times(months, [t.figures[m].times() for m in months])}"
                 f"</section>")
    for key, label in FIGURES:
        parts.append(_figure(label, months, tables[key], CHANNEL_LABELS))
    for key, label, columns in BREAKDOWNS:
        parts.append(_figure(label, months, tables[key], columns))
    parts.append(_figure("Chuyển gửi theo dịch vụ", months, tables["referrals"], {}))
    parts.append("<p class='note'>&lt;10: dưới 10, không công bố để không ai bị nhận ra. "
                 "x: ẩn thêm để không thể suy ra các ô dưới 10 từ tổng. Số liệu chỉ lấy từ "
                 "các trường đã mã hóa, không từ nội dung trò chuyện.</p>")
    return _PAGE.format(title=f"Báo cáo tháng {vn_month(month)}", body="\n".join(parts))


def _rate_lines(t: Tables) -> str:
    tables, month = t.by_key, t.month
    row = _row(tables, month)
    answered = tables["escalations"].shown(("cell", row, 0))  # the "answered" column
    requested = tables["escalations"].shown(("row", row))
    lines = [f"<li>Tỉ lệ yêu cầu được tư vấn viên trả lời: {share(answered, requested)}</li>"]
    times = published_times(t, month)
    if times is None:
        lines.append("<li>Thời gian phản hồi: chưa công bố (dưới 10 ca trong tháng).</li>")
    else:
        lines.append(f"<li>Thời gian đến lời trả lời đầu tiên: trung vị "
                     f"{times['first_reply_p50_min']:.0f} phút, 90% trong "
                     f"{times['first_reply_p90_min']:.0f} phút; trả lời trong 5 phút: "
                     f"{_percent(times['within_5_min'])} (mục tiêu: 100%).</li>")
        lines.append(f"<li>Chờ lâu nhất: {times['longest_wait_min']:.0f} phút.</li>")
        if times["handle_p50_min"] is not None:
            lines.append(f"<li>Thời gian xử lý một ca (từ khi nhận đến khi đóng): trung vị "
                         f"{times['handle_p50_min']:.0f} phút.</li>")
    lines.append(f"<li>Lần theo dõi đã thực hiện (ca ghi “đã gọi lại”): "
                 f"{tables['outcomes'].cell(month, 'callback_done')}</li>")
    return "<ul class='rates'>" + "".join(lines) + "</ul>"


def _percent(value: float | None) -> str:
    return WITHHELD if value is None else f"{value:.0%}"


def _row(tables: dict[str, Published], month: str) -> int:
    return tables["turns"].rows.index(month)


def _figure(label: str, months: list[str], table: Published, labels: dict) -> str:
    head = "".join(f"<th>{html.escape(labels.get(c, c))}</th>" for c in table.columns)
    grid = table.grid()
    body = "".join(
        f"<tr><th>{vn_month(m)}</th>" + "".join(f"<td>{v}</td>" for v in line) + "</tr>"
        for m, line in zip(months, grid, strict=False))
    body += "<tr class='total'><th>Cộng</th>" + "".join(f"<td>{v}</td>" for v in grid[-1])
    body += "</tr>"
    return (f"<section><h2>{html.escape(label)}</h2>"
            f"{charts.trend(months, [line[-1] for line in grid[:len(months)]], label)}"
            f"<table><tr><th>Tháng</th>{head}<th>Cộng</th></tr>{body}</table></section>")


# --- CSV ---------------------------------------------------------------------------------


def _csv(months: list[str], tables: dict[str, Published]) -> str:
    """One line per published value: figure, month ("cong" for the column totals), column
    ("cong" for the row total), value as published."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chi_so", "thang", "cot", "gia_tri"])
    for key, table in tables.items():
        for m, line in zip([*months, "cong"], table.grid(), strict=True):
            for column, value in zip([*table.columns, "cong"], line, strict=True):
                writer.writerow([key, m, column, value])
    return out.getvalue()


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "Noto Sans", "DejaVu Sans", sans-serif; margin: 2em; color: #1a202c; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.1em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #cbd5e0; padding: 4px 10px; }}
td {{ text-align: right; }} tr.total {{ font-weight: bold; }}
svg text {{ font-size: 11px; fill: #1a202c; }}
.status {{ font-weight: bold; }} .note {{ color: #4a5568; font-size: 0.9em; }}
section {{ break-inside: avoid; }}
</style></head><body>
{body}
</body></html>
"""
