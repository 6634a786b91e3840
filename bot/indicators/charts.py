"""The charts of the managers' pages and of the monthly report, as SVG text.

Every chart draws only values that are published: a hidden value (``<10`` or ``x``) is a
grey stub with its mark, never a bar whose length would give it away. Labels are
Vietnamese; the markup is escaped, so the same SVG can go in the report or, as an image,
in the workspace.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.indicators.disclosure import SMALL, WITHHELD

BLUE, LIGHT, GREY, RED, INK = "#2b6cb0", "#90cdf4", "#bbbbbb", "#c53030", "#1a202c"
_STYLE = (f"<style>text {{ font-family: 'Noto Sans', 'DejaVu Sans', sans-serif; "
          f"font-size: 11px; fill: {INK}; }} .mid {{ text-anchor: middle; }}</style>")


def _svg(width: int, height: int, label: str, shapes: list[str]) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' role='img' "
            f"aria-label='{html.escape(label)}' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}'>{_STYLE}{''.join(shapes)}</svg>")


def _hidden(value: str) -> bool:
    return value in (SMALL, WITHHELD)


def trend(months: Sequence[str], totals: Sequence[str], label: str = "Theo tháng") -> str:
    """Bars of each month's published total."""
    numbers = [int(t) for t in totals if not _hidden(t)]
    top = max(numbers, default=1) or 1
    width, height, bar = 60 * len(months), 120, 36
    shapes = []
    for i, (month, total) in enumerate(zip(months, totals, strict=True)):
        x = i * 60 + 12
        if _hidden(total):
            shapes.append(f"<rect x='{x}' y='{height - 24}' width='{bar}' height='4' "
                          f"fill='{GREY}'/><text class='mid' x='{x + bar / 2}' "
                          f"y='{height - 28}'>{html.escape(total)}</text>")
        else:
            h = max(2, int(int(total) / top * (height - 40)))
            shapes.append(f"<rect x='{x}' y='{height - 20 - h}' width='{bar}' height='{h}' "
                          f"fill='{BLUE}'/><text class='mid' x='{x + bar / 2}' "
                          f"y='{height - 24 - h}'>{total}</text>")
        shapes.append(f"<text class='mid' x='{x + bar / 2}' y='{height - 6}'>"
                      f"{month[5:]}/{month[2:4]}</text>")
    return _svg(width, height, label, shapes)


def funnel(steps: Sequence[tuple[str, str]], label: str = "Từ trò chuyện đến hỗ trợ") -> str:
    """Horizontal bars, one per step (label, published value), widest first."""
    numbers = [int(v) for _, v in steps if not _hidden(v)]
    top = max(numbers, default=1) or 1
    row, left, room = 26, 250, 330
    width, height = left + room + 50, row * len(steps) + 8
    shapes = []
    for i, (name, value) in enumerate(steps):
        y = 4 + i * row
        shapes.append(f"<text x='{left - 8}' y='{y + 15}' text-anchor='end'>"
                      f"{html.escape(name)}</text>")
        length = 4 if _hidden(value) else max(2, int(int(value) / top * room))
        colour = GREY if _hidden(value) else BLUE
        shapes.append(f"<rect x='{left}' y='{y + 3}' width='{length}' height='16' "
                      f"fill='{colour}'/><text x='{left + length + 6}' y='{y + 15}'>"
                      f"{html.escape(value)}</text>")
    return _svg(width, height, label, shapes)


def response_times(months: Sequence[str], times: Sequence[dict | None], target_min: float = 5,
                   label: str = "Thời gian đến lời trả lời đầu tiên") -> str:
    """Per month, the median and 90th percentile of the wait for the first human reply,
    against the target line; a month with too few cases to publish says so."""
    values = [t[k] for t in times if t for k in ("first_reply_p50_min", "first_reply_p90_min")]
    top = max([*values, target_min * 1.5])
    width, height, base = 80 * len(months) + 40, 170, 140
    scale = (base - 20) / top
    shapes = []
    for i, (month, t) in enumerate(zip(months, times, strict=True)):
        x = 40 + i * 80
        if t is None:
            shapes.append(f"<text class='mid' x='{x + 26}' y='{base - 6}'>chưa đủ ca</text>")
        else:
            for j, (key, colour) in enumerate((("first_reply_p50_min", BLUE),
                                               ("first_reply_p90_min", LIGHT))):
                h = max(2, int(t[key] * scale))
                shapes.append(f"<rect x='{x + j * 26}' y='{base - h}' width='24' height='{h}' "
                              f"fill='{colour}'/><text class='mid' x='{x + j * 26 + 12}' "
                              f"y='{base - h - 4}'>{t[key]:.0f}</text>")
        shapes.append(f"<text class='mid' x='{x + 26}' y='{base + 16}'>"
                      f"{month[5:]}/{month[2:4]}</text>")
    y = base - target_min * scale
    shapes.append(f"<line x1='30' x2='{width - 5}' y1='{y:.0f}' y2='{y:.0f}' stroke='{RED}' "
                  f"stroke-dasharray='5 4'/><text x='32' y='{y - 4:.0f}' fill='{RED}'>"
                  f"mục tiêu {target_min:.0f} phút</text>")
    for j, (name, colour) in enumerate((("trung vị (phút)", BLUE), ("90% ca (phút)", LIGHT))):
        shapes.append(f"<rect x='{width - 200}' y='{4 + j * 14}' width='10' height='10' "
                      f"fill='{colour}'/><text x='{width - 185}' y='{13 + j * 14}'>{name}</text>")
    return _svg(width, height, label, shapes)
