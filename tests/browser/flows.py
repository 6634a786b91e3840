"""What staff do in the workspace, step by step, as a person would: by labels and buttons."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bot.escalation.crypto import b64d
from tests.browser.conftest import PASSPHRASE, Workspace


def admin_makes_a_key(page: Page, workspace: Workspace) -> bytes:
    """An admin creates their key in the browser; the operator lists it and restarts."""
    page.goto(workspace.url)
    form = page.locator("form", has=page.get_by_role("heading", name="Tôi là quản trị viên"))
    form.get_by_label("Đặt mật khẩu cho khóa").fill(PASSPHRASE)
    form.get_by_label("Nhập lại mật khẩu").fill(PASSPHRASE)
    form.get_by_role("button", name="Tạo khóa quản trị").click()
    key = page.get_by_test_id("admin-public-key").inner_text().strip()
    workspace.restart((b64d(key),))
    page.get_by_role("button", name="Máy chủ đã nhận khóa – mở khóa").click()
    unlock(page)
    expect(page.get_by_role("heading", name="Quản trị")).to_be_visible()
    return b64d(key)


def unlock(page: Page, passphrase: str = PASSPHRASE) -> None:
    page.get_by_label("Mật khẩu khóa").fill(passphrase)
    page.get_by_role("button", name="Mở khóa").click()


def invite(admin: Page, name: str, role: str = "Tư vấn viên") -> dict[str, str]:
    admin.get_by_label("Họ tên (chỉ nhân sự thấy)").fill(name)
    admin.get_by_label("Vai trò").select_option(label=role)
    admin.get_by_role("button", name="Tạo mã ghi danh").click()
    return {"code": admin.get_by_test_id("enrolment-code").inner_text().strip(),
            "admin_key": admin.get_by_test_id("admin-key").inner_text().strip(),
            "server_key": admin.get_by_test_id("server-key").inner_text().strip()}


def enrol(page: Page, workspace: Workspace, invitation: dict[str, str], alias: str) -> str:
    """A counselor enrols with the invitation; returns the fingerprint they read out."""
    page.goto(workspace.url)
    form = page.locator("form", has=page.get_by_role("heading", name=re.compile("Tôi được mời")))
    form.get_by_label("Mã ghi danh").fill(invitation["code"])
    form.get_by_label("Khóa quản trị").fill(invitation["admin_key"])
    form.get_by_label("Khóa ký của máy chủ").fill(invitation["server_key"])
    form.get_by_label("Tên người dùng thấy").fill(alias)
    form.get_by_label("Đặt mật khẩu cho khóa").fill(PASSPHRASE)
    form.get_by_label("Nhập lại mật khẩu").fill(PASSPHRASE)
    form.get_by_role("button", name="Tạo khóa và ghi danh").click()
    return page.get_by_test_id("fingerprint").inner_text().strip()


def approve(admin: Page, name: str, fingerprint: str) -> None:
    admin.reload()
    unlock(admin)
    admin.get_by_label(f"Dấu vân tay {name} đọc cho bạn").fill(fingerprint)
    admin.get_by_role("button", name=f"Duyệt khóa của {name}").click()
    expect(admin.get_by_text(f"Đã duyệt khóa của {name}.")).to_be_visible()


def log_in_after_approval(page: Page, home: str = "Hàng chờ") -> None:
    page.get_by_role("button", name="Đã được duyệt – mở khóa").click()
    unlock(page)
    expect(page.get_by_role("heading", name=home)).to_be_visible()


def staff_member(admin: Page, page: Page, workspace: Workspace, name: str, alias: str,
                 role: str = "Tư vấn viên", home: str = "Hàng chờ") -> None:
    """``home``: the heading of the page this role starts on."""
    fingerprint = enrol(page, workspace, invite(admin, name, role), alias)
    approve(admin, name, fingerprint)
    log_in_after_approval(page, home)


def editor_and_reviewer(admin: Page, editor: Page, reviewer: Page,
                        workspace: Workspace) -> None:
    """Hoa edits content, Lan reviews it; each logs in to their own start page."""
    staff_member(admin, editor, workspace, "Trần Thu Hoa", "Hoa", role="Biên tập viên",
                 home="Sửa nội dung")
    staff_member(admin, reviewer, workspace, "Lê Văn Lan", "Lan", role="Người duyệt nội dung",
                 home="Đề xuất chờ duyệt")


def open_case(workspace: Workspace, subject: str, chat: str, body: dict,
              risk: str = "danger") -> str:
    """A case as the desk opens it when a user confirms (the chat's side is tested
    end to end in test_end_to_end)."""
    return workspace.call(workspace.hub.open_case(subject, f"telegram:{chat}", risk, body,
                                                  discreet=False)).code


def claim(page: Page, code: str) -> None:
    page.locator(f"li[data-code='{code}']").get_by_role("button", name=f"Nhận ca {code}").click()
    expect(page.get_by_role("heading", name=f"Ca {code}")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_label("Tin nhắn gửi người dùng").fill(text)
    page.get_by_role("button", name=re.compile("^Gửi")).click()
    expect(page.locator(".conversation li.from-counselor").last).to_contain_text(text)
