"""The counselors' workspace in Chromium: enrolment and approval in the browser, the live
queue, a case decrypted on screen, the chat both ways, notes, handover and wrap-up."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.flows import admin_makes_a_key, staff_member

pytestmark = pytest.mark.browser

BODY = {"share": "note", "note": "Chồng tôi đánh tôi, tôi đang trốn ở nhà bạn",
        "transcript": [], "contact": {"method": "chat", "phone": None, "window": None},
        "risk": "danger", "channel": "telegram"}


def test_a_counselor_enrols_takes_a_case_and_chats(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    ticket = workspace.call(workspace.hub.open_case("user:p1", "telegram:5550001", "danger",
                                                    BODY, discreet=False))
    row = lan.locator(f"li[data-code='{ticket.code}']")
    expect(row).to_be_visible()  # live: no reload
    expect(lan.get_by_test_id("queue-summary")).to_contain_text("1 ca đang chờ")
    row.get_by_role("button", name=f"Nhận ca {ticket.code}").click()
    expect(lan.get_by_role("heading", name=f"Ca {ticket.code}")).to_be_visible()
    expect(lan.get_by_text(BODY["note"])).to_be_visible()
    lan.get_by_label("Tin nhắn gửi người dùng").fill("Em có an toàn không?")
    lan.get_by_role("button", name=re.compile("^Gửi")).click()
    expect(lan.locator(".conversation li.from-counselor")).to_contain_text("Em có an toàn không?")
    assert ("5550001", "Tư vấn viên Mai: Em có an toàn không?") in [
        (chat, reply.text) for chat, reply in workspace.sent]
    workspace.call(workspace.hub.relay_from_user("user:p1", "Em ổn, cảm ơn chị"))
    expect(lan.locator(".conversation li.from-user")).to_contain_text("Em ổn, cảm ơn chị")


def test_the_referral_directory_finds_by_need_and_province_and_fills_the_reply(workspace,
                                                                              person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    ticket = workspace.call(workspace.hub.open_case("user:d1", "telegram:5550009", "high",
                                                    BODY, discreet=False))
    lan.locator(f"li[data-code='{ticket.code}']").get_by_role(
        "button", name=f"Nhận ca {ticket.code}").click()
    lan.get_by_text("Danh bạ chuyển tuyến", exact=True).click()
    lan.get_by_label("Nhu cầu").select_option(label="Nơi tạm lánh")
    lan.get_by_label("Tỉnh, thành phố").fill("Quảng Ninh")
    results = lan.locator("ul.directory li")
    expect(results.first).to_be_visible()
    assert all("Toàn quốc" in text or "Quảng Ninh" in text
               for text in results.all_inner_texts())
    lan.get_by_label("Tìm").fill("hoa binh")  # without diacritics
    expect(results).to_have_count(1)
    results.get_by_role("button").click()
    expect(lan.get_by_label("Tin nhắn gửi người dùng")).to_have_value(
        re.compile("Ngôi nhà Ánh Dương Hòa Bình: 1800 8027"))
    lan.get_by_label("Câu trả lời mẫu").select_option(label="Không phải lỗi của bạn")
    expect(lan.get_by_label("Tin nhắn gửi người dùng")).to_have_value(
        re.compile("không phải lỗi của bạn"))
