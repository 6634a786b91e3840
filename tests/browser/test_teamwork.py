"""Handover to a colleague, a supervisor's view, note and takeover, and a stale page: what a
team does with a case, each person at their own browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.escalation.tables import AuditEvent
from tests.browser.flows import admin_makes_a_key, claim, open_case, send, staff_member

pytestmark = pytest.mark.browser
NOTE = "Người dùng chỉ nhắn được sau 20 giờ"
BODY = {"share": "note", "note": "Em bị sếp nhắn tin quấy rối mỗi tối", "transcript": [],
        "contact": {"method": "chat", "phone": None, "window": None}, "risk": "high",
        "channel": "telegram"}


def test_a_counselor_hands_a_case_to_a_colleague_who_reads_all_of_it(workspace, person):
    admin, lan, hoa = person(), person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    staff_member(admin, hoa, workspace, "Trần Văn Hòa", "Minh")
    code = open_case(workspace, "user:h1", "5551001", BODY, "high")
    claim(lan, code)
    send(lan, "Chị đang nghe em.")
    lan.get_by_text("Chuyển ca").first.click()
    lan.get_by_label("Chuyển cho").select_option(label="Trần Văn Hòa (Tư vấn viên)")
    lan.get_by_label("Ghi chú cho người nhận (chỉ nhân sự đọc)").fill(NOTE)
    lan.get_by_role("button", name="Chuyển ca", exact=True).click()
    expect(lan.get_by_text(f"Đã chuyển ca {code}.")).to_be_visible()
    expect(lan.locator(f"li[data-code='{code}']")).to_have_count(0)  # no longer hers

    row = hoa.locator(f"li[data-code='{code}']")
    expect(row).to_contain_text("(bạn)")  # live: it is Hòa's now
    row.get_by_role("link", name=f"Mở ca {code}").click()
    expect(hoa.get_by_text(BODY["note"])).to_be_visible()  # re-shared by Lan's browser
    expect(hoa.locator(".conversation")).to_contain_text("Chị đang nghe em.")
    expect(hoa.locator(".notes")).to_contain_text(NOTE)
    send(hoa, "Chào em, anh là Minh.")
    assert ("5551001", "Tư vấn viên Minh: Chào em, anh là Minh.") in [
        (chat, reply.text) for chat, reply in workspace.sent]


def test_a_supervisor_sees_every_case_leaves_a_note_and_takes_over(workspace, person):
    admin, lan, minh = person(), person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    staff_member(admin, minh, workspace, "Lê Minh", "Thu", role="Giám sát viên")
    code = open_case(workspace, "user:s1", "5551002", BODY, "high")
    claim(lan, code)
    row = minh.locator(f"li[data-code='{code}']")
    expect(row).to_contain_text("Nguyễn Thị Lan")  # who holds what
    row.get_by_role("link", name=f"Mở ca {code}").click()
    expect(minh.get_by_text(BODY["note"])).to_be_visible()
    with workspace.database.session() as session:  # the supervisor's read is audited
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.case_code == code)).all()
    assert actions.count("read") >= 2
    minh.get_by_label("Ghi chú mới").fill("Nhớ hỏi về con nhỏ")
    minh.get_by_role("button", name="Lưu ghi chú").click()
    expect(lan.locator(".notes")).to_contain_text("Nhớ hỏi về con nhỏ")  # live, staff only
    assert not any("Nhớ hỏi" in reply.text for _, reply in workspace.sent)
    minh.goto(f"{workspace.url}/#/queue")
    minh.locator(f"li[data-code='{code}']").get_by_role("button",
                                                       name=f"Tiếp quản {code}").click()
    expect(minh.get_by_role("heading", name=f"Ca {code}")).to_be_visible()
    expect(lan.get_by_text("Giám sát viên đã tiếp quản ca này.")).to_be_visible()
    expect(lan.get_by_label("Tin nhắn gửi người dùng")).to_be_disabled()


def test_a_stale_page_is_told_the_case_was_taken(workspace, person):
    admin, lan, hoa = person(), person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, hoa, workspace, "Trần Văn Hòa", "Minh")
    muted = {"on": False}

    def relay(ws):  # Lan's live feed, with the server's news held back while muted
        server = ws.connect_to_server()
        server.on_message(lambda message: None if muted["on"] and "\"queue\"" in str(
            message) else ws.send(message))

    lan.route_web_socket("**/api/v1/live", relay)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:t1", "5551003", BODY)
    row = lan.locator(f"li[data-code='{code}']")
    expect(row).to_be_visible()
    muted["on"] = True
    claim(hoa, code)
    row.get_by_role("button", name=f"Nhận ca {code}").click()  # the page did not know
    expect(lan.get_by_text(f"Ca {code} vừa được người khác nhận.", exact=False)).to_be_visible()
    expect(row).to_have_count(0)  # and the queue was refreshed


def test_a_lost_connection_reconnects_says_so_and_keeps_the_draft(workspace, person):
    admin, lan = person(), person()
    admin_key = admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:r1", "5551004", BODY)
    claim(lan, code)
    lan.get_by_label("Tin nhắn gửi người dùng").fill("Em đang ở đâu?")
    workspace.stop()
    expect(lan.get_by_text(re.compile("Mất kết nối tới máy chủ"))).to_be_visible()
    workspace.start((admin_key,))
    expect(lan.get_by_text("Đã kết nối lại.")).to_be_visible()
    expect(lan.get_by_label("Tin nhắn gửi người dùng")).to_have_value("Em đang ở đâu?")
    send(lan, "Em đang ở đâu?")
