"""`antam report --month YYYY-MM`: the monthly report for programme managers, from the
command line (the same report the workspace will offer). Messages are in Vietnamese."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from bot.indicators.monthly import month_problem, vn_month, well_formed
from bot.indicators.report import build, write
from bot.storage import Database


def add_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="the monthly report for programme managers")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--out", type=Path, default=None,
                        help="where to write it (default: var/reports)")


def run(database: Database, month: str, out: Path, today: dt.date) -> int:
    """Write the report; refuse, writing nothing, for a bad or future month or one with no
    data."""
    problem = month_problem(month, today)
    if problem:
        print(problem, file=sys.stderr)
        return 1 if well_formed(month) else 2
    report = build(database, month, today)
    if report.empty:
        print(f"Tháng {vn_month(month)} chưa có số liệu nào: không tạo báo cáo.", file=sys.stderr)
        return 1
    for path in write(report, out):
        print(f"Đã ghi {path}")
    if report.provisional:
        print("Lưu ý: tháng chưa kết thúc, số liệu là tạm thời.")
    return 0
