"""The managers' pages in the workspace: the monthly figures as JSON, from the very tables
the monthly report publishes (so nothing is shown here that the report hides), with the
same charts.

Every value on these pages is a value of a protected table (bot/indicators/disclosure.py):
the funnel's steps and the follow-ups done are cells of those tables, not new sums, so no
hidden cell can be had by comparing a page figure with a table.
"""

from __future__ import annotations

from bot.indicators import charts
from bot.indicators.disclosure import Published, share
from bot.indicators.monthly import vn_month
from bot.indicators.report import (
    BREAKDOWNS,
    CHANNEL_LABELS,
    FIGURES,
    Tables,
    assemble,
    funnel_steps,
    published_times,
)

# How each figure is counted, for the manager who clicks into it.
DEFINITIONS = {
    "people": "Số người khác nhau đã nhắn cho An Tâm trong tháng, đếm bằng một mã chỉ dùng "
              "trong tháng đó (không thể nối sang tháng khác).",
    "returning": "Trong số đó, người đã nhắn vào từ hai ngày khác nhau trở lên trong tháng.",
    "turns": "Số tin nhắn người dùng gửi và được bot trả lời.",
    "disclosure_domestic": "Tin nhắn được hiểu là kể về bạo lực gia đình.",
    "disclosure_sexual": "Tin nhắn được hiểu là kể về bạo lực tình dục.",
    "disclosure_workplace": "Tin nhắn được hiểu là kể về quấy rối ở nơi làm việc.",
    "disclosure_online": "Tin nhắn được hiểu là kể về bạo lực trên mạng.",
    "crisis_replies": "Số lần bot gửi ngay số khẩn cấp (113, 115) vì nhận ra nguy hiểm.",
    "safety_plans": "Ca tư vấn viên ghi đã cùng lập kế hoạch an toàn (người dùng đồng ý được "
                    "thống kê).",
    "follow_ups": "Ca tư vấn viên hẹn theo dõi sau khi đóng ca.",
    "awareness_quiz": "Số lượt bắt đầu câu đố nhận thức.",
    "awareness_selfcheck": "Số lượt bắt đầu tự kiểm tra “Đây có phải là bạo lực?”.",
    "awareness_explainer": "Số lượt hỏi về các hình thức bạo lực.",
    "degraded_replies": "Tin nhắn được trả lời ở chế độ dự phòng (mô hình hiểu tin nhắn "
                        "không trả lời kịp); số khẩn cấp vẫn được gửi.",
    "escalations": "Mỗi yêu cầu gặp tư vấn viên được tính một lần, theo điều đã xảy ra với "
                   "nó: được trả lời, đã nhận nhưng chưa trả lời, bỏ dở trước khi được nhận, "
                   "hoặc đang chờ.",
    "outcomes": "Kết quả tư vấn viên ghi khi đóng ca, chỉ với người dùng đồng ý được thống kê. "
                "“Đã gọi lại” là lần theo dõi đã thực hiện.",
    "kinds": "Loại bạo lực tư vấn viên ghi khi đóng ca (một ca có thể nhiều loại).",
    "referrals": "Dịch vụ tư vấn viên đã chuyển gửi người dùng tới.",
}


def dashboard(tables: Tables) -> dict:
    """Everything the managers' page shows for ``tables.month``."""
    month, row = tables.month, tables.months.index(tables.month)
    cards = [_card(key, label, tables.by_key[key], CHANNEL_LABELS, tables, row)
             for key, label in FIGURES]
    cards += [_card(key, label, tables.by_key[key], columns, tables, row)
              for key, label, columns in BREAKDOWNS]
    cards.append(_card("referrals", "Chuyển gửi theo dịch vụ", tables.by_key["referrals"], {},
                       tables, row))
    escalations = tables.by_key["escalations"]
    times = [published_times(tables, m) for m in tables.months]
    return {
        "month": month, "label": vn_month(month), "provisional": tables.provisional,
        "empty": tables.empty, "months": tables.months,
        "headline": {
            "answered_share": share(escalations.shown(("cell", row, 0)),
                                    escalations.shown(("row", row))),
            "follow_ups_done": tables.by_key["outcomes"].cell(month, "callback_done"),
            "times": times[row],
        },
        "funnel": charts.funnel(funnel_steps(tables)),
        "times_chart": charts.response_times(tables.months, times),
        "figures": cards,
    }


def _card(key: str, label: str, table: Published, columns: dict, tables: Tables,
          row: int) -> dict:
    grid = table.grid()
    return {"key": key, "label": label, "definition": DEFINITIONS.get(key, ""),
            "value": grid[row][-1],
            "columns": [columns.get(c, c) for c in table.columns],
            "rows": [vn_month(m) for m in tables.months] + ["Cộng"],
            "grid": grid,
            "chart": charts.trend(tables.months, [line[-1] for line in grid[:-1]], label)}


__all__ = ["DEFINITIONS", "assemble", "dashboard", "funnel_steps"]
