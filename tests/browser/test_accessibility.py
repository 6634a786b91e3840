"""Every page of the workspace passes axe-core without serious or critical violations, on
a laptop and on a phone, and the main actions work from the keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.flows import admin_makes_a_key, open_case, staff_member
from tests.helpers import ROOT

pytestmark = pytest.mark.browser
AXE = (ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
BODY = {"share": "nothing", "note": None, "transcript": [],
        "contact": {"method": "chat", "phone": None, "window": None}, "risk": "standard",
        "channel": "telegram"}
PHONE = {"width": 390, "height": 844}


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(content=AXE)  # this context bypasses the CSP, for the audit only
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                          ".violations.map(v => [v.impact, v.id, v.nodes.length])")
    return [f"{impact} {rule} ({nodes})" for impact, rule, nodes in found
            if impact in ("serious", "critical")]


def fits_the_screen(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["laptop", "phone"])
def test_every_page_passes_axe_and_fits_the_screen(workspace, person, viewport):
    admin = person(viewport=viewport, bypass_csp=True)
    lan = person(viewport=viewport, bypass_csp=True)
    admin.goto(workspace.url)
    expect(admin.get_by_role("heading", name="Bắt đầu trên máy này")).to_be_visible()
    pages = {"welcome": serious_violations(admin)}
    admin_makes_a_key(admin, workspace)
    pages["admin"] = serious_violations(admin)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:a1", "5553001", BODY, "standard")
    expect(lan.locator(f"li[data-code='{code}']")).to_be_visible()
    pages["queue"] = serious_violations(lan)
    assert fits_the_screen(lan)
    lan.locator(f"li[data-code='{code}']").get_by_role("button", name=f"Nhận ca {code}").click()
    expect(lan.get_by_role("heading", name=f"Ca {code}")).to_be_visible()
    for summary in ("Danh bạ chuyển tuyến", "Chuyển ca", "Kết thúc ca"):
        lan.get_by_text(summary, exact=True).first.click()
    pages["case"] = serious_violations(lan)
    assert fits_the_screen(lan)
    lan.get_by_role("link", name="Cài đặt").click()
    pages["settings"] = serious_violations(lan)
    lan.get_by_role("button", name="Khóa", exact=True).click()
    expect(lan.get_by_label("Mật khẩu khóa")).to_be_visible()
    pages["unlock"] = serious_violations(lan)
    assert {name: found for name, found in pages.items() if found} == {}


def test_a_case_is_taken_answered_and_closed_from_the_keyboard(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:k1", "5553002", BODY, "standard")
    claim = lan.get_by_role("button", name="Nhận ca tiếp theo")
    expect(claim).to_be_enabled()
    claim.focus()
    lan.keyboard.press("Enter")
    expect(lan.get_by_role("heading", name=f"Ca {code}")).to_be_visible()
    lan.get_by_label("Tin nhắn gửi người dùng").focus()
    lan.keyboard.type("Chào bạn, mình ở đây.")
    lan.keyboard.press("Control+Enter")
    expect(lan.locator(".conversation li.from-counselor")).to_contain_text("Chào bạn")
    summary = lan.locator("summary", has_text="Kết thúc ca")
    summary.focus()
    lan.keyboard.press("Enter")
    lan.get_by_label("Kết quả", exact=True).focus()
    lan.keyboard.press("ArrowDown")  # the first outcome
    lan.get_by_role("button", name="Đóng ca và lưu kết quả").focus()
    lan.keyboard.press("Enter")
    expect(lan.get_by_text(re.compile(f"Đã đóng ca {code}"))).to_be_visible()
