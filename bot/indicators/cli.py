"""`antam report --month YYYY-MM`: the monthly report for programme managers, from the
command line (the same report the workspace will offer). Messages are in Vietnamese."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

from bot.indicators.report import build, write
from bot.storage import Database

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def add_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="the monthly report for programme managers")
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--out", type=Path, default=None,
                        help="where to write it (default: var/reports)")


def run(database: Database, month: str, out: Path, today: dt.date) -> int:
    """Write the report; refuse, writing nothing, for a bad or future month or one with no
    data."""
    if not _MONTH.match(month):
        print("Tháng phải có dạng YYYY-MM, ví dụ 2026-11.", file=sys.stderr)
        return 2
    if month > f"{today.year:04d}-{today.month:02d}":
        print(f"Tháng {_vn(month)} chưa đến: không có báo cáo.", file=sys.stderr)
        return 1
    report = build(database, month, today)
    if report.empty:
        print(f"Tháng {_vn(month)} chưa có số liệu nào: không tạo báo cáo.", file=sys.stderr)
        return 1
    for path in write(report, out):
        print(f"Đã ghi {path}")
    if report.provisional:
        print("Lưu ý: tháng chưa kết thúc, số liệu là tạm thời.")
    return 0


def _vn(month: str) -> str:
    year, number = month.split("-")
    return f"{int(number)}/{year}"
