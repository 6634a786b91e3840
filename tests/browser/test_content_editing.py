"""Editors in the workspace, every part real: an editor and a reviewer enrol in Chromium; the
editor changes a contact's hours in the form, is stopped by a bad number, and sees the new
hours in the preview (the real core, Rasa and action server); a reviewer approves; the
running bot answers a Telegram user (PTB against the Bot API stand-in) with the new hours;
the reviewer rolls back and the old hours are back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.app import build_editorial
from bot.editorial.api import Editorial, editorial_handlers
from tests.browser.conftest import telegram_workspace
from tests.browser.flows import admin_makes_a_key, editor_and_reviewer, unlock
from tests.fakes.telegram_api import TelegramStandIn

pytestmark = [pytest.mark.browser, pytest.mark.stack]
USER_CHAT = 5550009876543
OLD_HOURS = "24/7"
NEW_HOURS = "7:00–22:00 hằng ngày"
CONTACT = "Đường dây hỗ trợ phụ nữ"
ASK = "cho mình xin các số điện thoại hỗ trợ"


@pytest.fixture
def world(stack, tmp_path, monkeypatch):
    """The workspace with the editors' routes, and the Telegram bot, over the stack's own
    content directory (the action server reads it too)."""
    content = Path(stack.env["ANTAM_CONTENT_DIR"])
    original = {p.name: p.read_text() for p in content.glob("*.yml")}
    made: list[Editorial] = []

    def routes(settings, database):
        made.append(build_editorial(settings, database))
        return lambda hub: editorial_handlers(hub, made[0])

    try:
        with telegram_workspace(stack, tmp_path, monkeypatch, ("ANTAM_CONTENT_DIR",),
                                routes) as (ws, standin):
            try:
                yield ws, standin, content, original
            finally:  # the preview's staged files go with it
                ws.call(made[0].previewer.close_all())
                assert not list((Path(stack.env["ANTAM_VAR_DIR"]) / "preview").glob("*"))
    finally:
        for name, text in original.items():  # whatever happened, the next test's content
            if (content / name).read_text() != text:
                (content / name).write_text(text)


def _hotlines_answer(standin: TelegramStandIn) -> str:
    before = len(standin.sent(USER_CHAT))
    standin.user_message(USER_CHAT, ASK)
    deadline = time.monotonic() + 60
    while True:
        for message in standin.sent(USER_CHAT)[before:]:
            if CONTACT in message.get("text", ""):
                return message["text"]
        assert time.monotonic() < deadline, "the user never got the list of numbers"
        time.sleep(0.05)


def _line_of(answer: str) -> str:
    return next(line for line in answer.splitlines() if CONTACT in line)


def _bot_says(standin: TelegramStandIn, hours: str) -> str:
    """The user's answer once the running bot shows ``hours`` (it reloads within seconds)."""
    deadline = time.monotonic() + 60
    while True:
        line = _line_of(_hotlines_answer(standin))
        if hours in line:
            return line
        assert time.monotonic() < deadline, f"the bot still says {line!r}"


def test_an_edited_contact_goes_live_after_review_and_rolls_back(world, person):
    workspace, standin, content, original = world
    admin, editor, reviewer = person(), person(), person()
    admin_makes_a_key(admin, workspace)
    editor_and_reviewer(admin, editor, reviewer, workspace)
    assert OLD_HOURS in _line_of(_hotlines_answer(standin))

    # 1. The editor opens the contact and changes its hours.
    editor.get_by_label("Loại nội dung").select_option("contacts.yml")
    editor.get_by_role("link", name="Ngôi nhà Bình yên").click()
    hours = editor.get_by_label("Giờ làm việc")
    expect(hours).to_have_value(OLD_HOURS)
    hours.fill(NEW_HOURS)

    # 2. A bad number is stopped at its field, as it is typed, and on sending.
    number = editor.get_by_label("Số điện thoại")
    number.fill("1900 96x 680")
    expect(editor.locator("[data-field=number] .field-error")).to_contain_text(
        "không phải số điện thoại Việt Nam")
    expect(number).to_have_attribute("aria-invalid", "true")
    editor.get_by_label("Lý do thay đổi", exact=True).fill("Giờ trực mới theo thông báo của Hội")
    editor.get_by_role("button", name="Gửi duyệt", exact=True).click()
    expect(editor.get_by_text("Nội dung chưa hợp lệ")).to_be_visible()
    number.fill("1900 969 680")
    expect(editor.locator("[data-field=number] .field-error")).to_be_empty()

    # 3. The preview answers with the new hours, through the real bot and Rasa.
    editor.get_by_label("Tin nhắn thử", exact=True).fill(ASK)
    editor.get_by_role("button", name="Gửi thử", exact=True).click()
    turn = editor.locator(".preview-log li.from-bot").last
    expect(turn.get_by_test_id("preview-entries")).to_contain_text("message:hotlines")
    expect(turn.locator(".render.telegram")).to_contain_text(f"{CONTACT}")
    expect(turn.locator(".render.telegram")).to_contain_text(NEW_HOURS)
    expect(turn.locator(".render.zalo")).to_contain_text(NEW_HOURS)
    expect(turn.locator(".render.zalo")).to_contain_text("[1]")
    if os.environ.get("ANTAM_SCREENSHOTS"):
        editor.screenshot(path=str(Path(os.environ["ANTAM_SCREENSHOTS"]) / "editor.png"),
                          full_page=True)
    editor.get_by_role("button", name="Gửi duyệt", exact=True).click()
    expect(editor.get_by_text("Đã gửi đề xuất số")).to_be_visible()
    assert OLD_HOURS in _line_of(_hotlines_answer(standin))  # nothing live before review

    # 4. The reviewer sees the change as a diff and approves it.
    reviewer.reload()
    unlock(reviewer)
    change = reviewer.locator("section[data-change]").first
    expect(change.locator(".diff .added")).to_contain_text(f"hours: {NEW_HOURS}")
    expect(change.locator(".diff .removed")).to_contain_text(f"hours: {OLD_HOURS}")
    if os.environ.get("ANTAM_SCREENSHOTS"):
        reviewer.screenshot(path=str(Path(os.environ["ANTAM_SCREENSHOTS"]) / "review.png"))
    change.get_by_role("button", name="Duyệt và đăng").click()
    expect(reviewer.get_by_text("Đã duyệt và đăng đề xuất")).to_be_visible()

    # 5. The running bot answers a Telegram user with the new hours.
    assert NEW_HOURS in _bot_says(standin, NEW_HOURS)

    # 6. The reviewer rolls back in one step; the old hours are back, the file as it was.
    reviewer.get_by_role("link", name="Lịch sử").click()
    reviewer.get_by_label("Tệp").select_option("contacts.yml")
    reviewer.once("dialog", lambda dialog: dialog.accept())
    versions = reviewer.locator("table.versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("Lê Văn Lan")  # who approved
    expect(versions.first).to_contain_text("Giờ trực mới theo thông báo của Hội")
    versions.last.get_by_role("button", name="Khôi phục phiên bản").click()
    expect(reviewer.get_by_text("Đã khôi phục phiên bản")).to_be_visible()
    assert OLD_HOURS in _bot_says(standin, OLD_HOURS)
    assert (content / "contacts.yml").read_text() == original["contacts.yml"]
