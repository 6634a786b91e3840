"""What protects a case in the browser: the passphrase, the lock (at once, and after idle
time), sessions that end, a removed counselor's open page, a tampered item or an
unapproved reader refused with a clear message, storage the browser refuses, keys made by
the command line, a backup the command line can open, and the page's own headers."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from bot.escalation import crypto
from bot.escalation.crypto import PrivateIdentity, b64d, b64e, sign_approval
from bot.escalation.tables import Case, CaseItem, StaffSession
from tests.browser.conftest import PASSPHRASE
from tests.browser.flows import (
    admin_makes_a_key,
    approve,
    invite,
    open_case,
    staff_member,
    unlock,
)

pytestmark = pytest.mark.browser
BODY = {"share": "note", "note": "Anh ta dọa sẽ đăng ảnh của em", "transcript": [],
        "contact": {"method": "chat", "phone": None, "window": None}, "risk": "high",
        "channel": "telegram"}
FAST_KDF = {"name": "argon2id", "iterations": 1, "lanes": 1, "memory_cost": 8192}


def _sessions(workspace) -> int:
    with workspace.database.session() as session:
        return len(session.scalars(select(StaffSession)).all())


def test_a_wrong_passphrase_opens_nothing_and_lock_ends_the_session(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    lan.reload()
    unlock(lan, "không phải mật khẩu này")
    expect(lan.get_by_text("Sai mật khẩu khóa.")).to_be_visible()
    unlock(lan)
    expect(lan.get_by_role("heading", name="Hàng chờ")).to_be_visible()
    before = _sessions(workspace)
    lan.get_by_role("button", name="Khóa", exact=True).click()
    expect(lan.get_by_text(re.compile("Đã khóa. Khóa bí mật đã được xoá"))).to_be_visible()
    expect(lan.get_by_label("Mật khẩu khóa")).to_be_visible()
    assert _wait(lambda: _sessions(workspace) == before - 1)  # the server forgot it too


def _wait(predicate, timeout: float = 10) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.policy(idle_lock_minutes=0.05)
def test_an_untouched_workspace_locks_itself(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    expect(lan.get_by_text(re.compile("tự khóa vì không hoạt động"))).to_be_visible(timeout=30_000)
    expect(lan.get_by_label("Mật khẩu khóa")).to_be_visible()


def test_an_expired_session_asks_to_log_in_again(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:e1", "5552001", BODY)
    row = lan.locator(f"li[data-code='{code}']")
    expect(row).to_be_visible()
    with workspace.database.session() as session, session.begin():  # the session ran out
        session.execute(update(StaffSession).values(expires_at=dt.datetime(2000, 1, 1)))
    # The next request finds the session over: the click's, or a refresh the queue's
    # own live feed started first (then the button is already gone, and that is fine).
    lan.evaluate("code => document.querySelector(`li[data-code='${code}'] button`)?.click()",
                 code)
    expect(lan.get_by_text(re.compile("Phiên làm việc đã kết thúc"))).to_be_visible()
    expect(lan.get_by_label("Mật khẩu khóa")).to_be_visible()


def test_a_removed_counselors_open_page_is_closed_and_cannot_log_in(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    admin.reload()
    unlock(admin)
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Gỡ Nguyễn Thị Lan").click()
    expect(admin.get_by_text(re.compile("Đã gỡ Nguyễn Thị Lan"))).to_be_visible()
    expect(lan.get_by_text(re.compile("Phiên làm việc đã kết thúc"))).to_be_visible()
    unlock(lan)
    expect(lan.get_by_text(re.compile("chưa được duyệt, đã bị thu hồi"))).to_be_visible()


def test_a_tampered_item_shows_a_warning_and_nothing_of_the_case(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:x1", "5552002", BODY)
    with workspace.database.session() as session, session.begin():
        item = session.scalar(select(CaseItem))
        sealed = json.loads(item.sealed)
        raw = bytearray(b64d(sealed["ciphertext"]))
        raw[0] ^= 1
        sealed["ciphertext"] = b64e(bytes(raw))
        item.sealed = json.dumps(sealed)
    lan.locator(f"li[data-code='{code}']").get_by_role("button", name=f"Nhận ca {code}").click()
    expect(lan.get_by_text(re.compile("CẢNH BÁO: mục 0"))).to_be_visible()
    expect(lan.get_by_text(BODY["note"])).to_have_count(0)


def test_a_reader_without_an_admins_approval_stops_the_case(workspace, person):
    admin, lan = person(), person()
    admin_makes_a_key(admin, workspace)
    staff_member(admin, lan, workspace, "Nguyễn Thị Lan", "Mai")
    code = open_case(workspace, "user:x2", "5552003", BODY)
    rogue = PrivateIdentity.generate().public()
    with workspace.database.session() as session, session.begin():
        from bot.escalation.tables import Staff, StaffKey

        now = session.scalar(select(Case.created_at))
        session.add(Staff(id="srogue", display_name="Rogue", role="counselor", status="active",
                          created_at=now))
        session.flush()
        session.add(StaffKey(key_id=rogue.key_id, staff_id="srogue", x25519=rogue.x25519,
                             ed25519=rogue.ed25519, status="active", created_at=now,
                             approval=sign_approval(PrivateIdentity.generate(), rogue, "srogue",
                                                    "counselor")))
        case = session.scalar(select(Case).where(Case.code == code))
        case.recipients = "\n".join(sorted([*case.recipients.split("\n"), rogue.key_id]))
    claim_button = lan.locator(f"li[data-code='{code}']").get_by_role("button")
    claim_button.click()
    expect(lan.get_by_text(re.compile(f"người nhận {rogue.key_id}.*không được quản trị viên "
                                      "duyệt"))).to_be_visible()
    expect(lan.get_by_text(BODY["note"])).to_have_count(0)


def test_storage_the_browser_refuses_gets_a_clear_message(workspace, person):
    page = person()
    page.add_init_script("Object.defineProperty(window, 'indexedDB', {get() {"
                         " throw new DOMException('blocked', 'SecurityError'); }});")
    page.goto(workspace.url)
    expect(page.get_by_text(re.compile("Trình duyệt không cho đọc hoặc ghi kho khóa"))
           ).to_be_visible()


def test_a_key_made_by_the_command_line_is_imported_and_a_backup_opens_there(
        workspace, person, tmp_path):
    admin = person()
    admin_makes_a_key(admin, workspace)
    invitation = invite(admin, "Phạm Thu", "Tư vấn viên")
    identity = PrivateIdentity.generate()  # as `antam counselor init` makes and enrols it
    _, key_id = workspace.hub.service.staff.enrol(invitation["code"], identity.public(), "Thu")
    approve(admin, "Phạm Thu", identity.public().fingerprint())
    key_file = tmp_path / f"{key_id}.json"
    key_file.write_text(json.dumps({"v": 1, "kind": "counselor", "created_at": "2026-11-29",
                                    "wrapped": crypto.wrap_identity(identity, PASSPHRASE,
                                                                    FAST_KDF)}))
    thu = person()
    thu.goto(workspace.url)
    form = thu.locator("form", has=thu.get_by_role("heading", name="Tôi đã có tệp khóa"))
    form.get_by_label("Tệp khóa").set_input_files(str(key_file))
    form.get_by_label("Khóa quản trị (nếu tệp không kèm)").fill(invitation["admin_key"])
    form.get_by_label("Khóa ký của máy chủ (nếu tệp không kèm)").fill(invitation["server_key"])
    form.get_by_role("button", name="Nhập khóa").click()
    unlock(thu)
    expect(thu.get_by_role("heading", name="Hàng chờ")).to_be_visible()

    thu.get_by_role("link", name="Cài đặt").click()
    with thu.expect_download() as download:
        thu.get_by_role("button", name="Tải tệp sao lưu khóa").click()
    backup = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert crypto.unwrap_identity(backup["wrapped"], PASSPHRASE).public() == identity.public()
    assert PASSPHRASE not in json.dumps(backup) and backup["pins"]["server_key"]


def test_the_page_sends_a_strict_policy_and_sets_no_cookie(workspace, person):
    page = person()
    response = page.goto(workspace.url)
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store" and "set-cookie" not in headers
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.reload()
    expect(page.get_by_role("heading", name="Bắt đầu trên máy này")).to_be_visible()
    assert requested and all(url.startswith(workspace.url) for url in requested)
    assert page.evaluate("document.cookie") == ""
