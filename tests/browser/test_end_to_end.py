"""The whole handoff, every part real: an admin and a counselor enrol in Chromium; a user
on Telegram (PTB against the Bot API stand-in) with the real Rasa stack discloses danger
and asks for a counselor; the case appears in the open workspace without a reload; the
counselor claims it, reads the transcript decrypted on screen and chats both ways; the
user leaves with a quick exit and the counselor sees it; the counselor closes the case
with a wrap-up.

Every HTTP response and WebSocket frame the browsers receive is recorded: none carries
what the user wrote or their Telegram id. Afterwards neither the database nor the logs do.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.escalation.tables import CaseWrapUp
from tests.browser.conftest import telegram_workspace
from tests.browser.flows import admin_makes_a_key, staff_member
from tests.fakes.telegram_api import TelegramStandIn

pytestmark = [pytest.mark.browser, pytest.mark.stack]
USER_CHAT = 5550002345678
DISCLOSURE = "chồng tôi đánh tôi, tôi sợ lắm"
REQUEST = "tôi muốn nói chuyện với tư vấn viên"
USER_LINE = "anh ấy vừa ra ngoài, em đang trốn trong phòng"
SECRETS = (DISCLOSURE, REQUEST, USER_LINE, str(USER_CHAT), "chồng tôi")


class Recorder:
    """Everything a browser receives: response bodies and WebSocket frames."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("response", self._response)
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _response(self, response) -> None:
        try:
            self.received.append(response.body().decode("utf-8", "replace"))
        except Exception:  # a redirect or an aborted request has no body
            self.received.append(f"(no body: {response.url})")

    def _frame(self, payload) -> None:
        self.received.append(payload if isinstance(payload, str) else payload.decode())


class User:
    def __init__(self, standin: TelegramStandIn):
        self.standin = standin

    def say(self, text: str) -> list[dict]:
        before = len(self.standin.sent(USER_CHAT))
        self.standin.user_message(USER_CHAT, text)
        return self.until(before + 1)

    def press(self, message: dict, title: str) -> list[dict]:
        markup = message.get("reply_markup") or {}
        button = next(b for row in markup["inline_keyboard"] for b in row if b["text"] == title)
        before = len(self.standin.sent(USER_CHAT))
        self.standin.callback_query(USER_CHAT, button["callback_data"], message["message_id"])
        return self.until(before + 1)

    def offering(self, title: str, after: int, timeout: float = 60) -> dict:
        """The first message after number ``after`` that offers a button ``title``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.standin.sent(USER_CHAT)[after:]:
                markup = message.get("reply_markup") or {}
                if any(b["text"] == title for row in markup.get("inline_keyboard", [])
                       for b in row):
                    return message
            assert time.monotonic() < deadline, f"no message offered {title!r}"
            time.sleep(0.05)

    def until(self, count: int, timeout: float = 60) -> list[dict]:
        """The user's messages from number ``count`` on, once there (the stand-in serves from
        its own thread; Playwright's loop here refuses the stand-in's own wait)."""
        deadline = time.monotonic() + timeout
        while len(self.standin.sent(USER_CHAT)) < count:
            assert time.monotonic() < deadline, f"the user never got message {count}"
            time.sleep(0.05)
        return self.standin.sent(USER_CHAT)[count - 1:]


@pytest.fixture
def world(stack, tmp_path, monkeypatch):
    with telegram_workspace(stack, tmp_path, monkeypatch, database_name="e2e.db") as (ws, standin):
        yield ws, standin


def test_a_user_on_telegram_reaches_a_counselor_in_the_browser(world, person, tmp_path, stack,
                                                                  caplog):
    caplog.set_level(logging.INFO)
    workspace, standin = world
    recorder = Recorder()
    admin, counselor = person(), person()
    for page in (admin, counselor):
        recorder.watch(page)
    admin_makes_a_key(admin, workspace)
    staff_member(admin, counselor, workspace, "Nguyễn Thị Lan", "Mai")
    user = User(standin)

    assert "113" in user.say(DISCLOSURE)[0]["text"]
    before = len(standin.sent(USER_CHAT))
    standin.user_message(USER_CHAT, REQUEST)
    step = user.offering("Cuộc trò chuyện vừa rồi", before)
    for pressed, offered in (("Cuộc trò chuyện vừa rồi", "Nhắn tin ngay tại đây"),
                             ("Nhắn tin ngay tại đây", "Gửi yêu cầu")):
        before = len(standin.sent(USER_CHAT))
        user.press(step, pressed)
        step = user.offering(offered, before)
    before = len(standin.sent(USER_CHAT))
    started = time.monotonic()
    user.press(step, "Gửi yêu cầu")
    queued = user.offering("Hủy yêu cầu", before)
    code = re.search(r"AT-[A-Z0-9]{5}", queued["text"]).group(0)

    row = counselor.locator(f"li[data-code='{code}']")
    expect(row).to_be_visible()  # the open queue updated itself
    assert time.monotonic() - started < 30
    expect(row).to_contain_text("KHẨN CẤP")
    before = len(standin.sent(USER_CHAT))
    row.get_by_role("button", name=f"Nhận ca {code}").click()
    expect(counselor.get_by_text(DISCLOSURE)).to_be_visible()  # decrypted here only

    notice = user.offering("Xem", before)
    assert notice["text"] == "Bạn có tin nhắn mới."  # discreet by default
    assert "Tư vấn viên Mai" in user.press(notice, "Xem")[0]["text"]

    counselor.get_by_label("Tin nhắn gửi người dùng").fill("Em có an toàn không?")
    before = len(standin.sent(USER_CHAT))
    counselor.get_by_role("button", name=re.compile("^Gửi")).click()
    notice = user.offering("Xem", before)
    assert user.press(notice, "Xem")[0]["text"] == "Tư vấn viên Mai: Em có an toàn không?"

    user.say(USER_LINE)
    expect(counselor.locator(".conversation li.from-user").last).to_contain_text(USER_LINE)

    before = len(standin.sent(USER_CHAT))
    standin.command(USER_CHAT, "/thoat")
    user.until(before + 1)
    expect(counselor.get_by_test_id("user-state")).to_have_text(
        "Người dùng đã rời cuộc trò chuyện.")

    counselor.get_by_text("Kết thúc ca").click()
    counselor.get_by_label("Kết quả", exact=True).select_option(label="Đã lập kế hoạch an toàn")
    counselor.get_by_label("Thể chất").check()
    counselor.get_by_label("Gia đình").check()
    counselor.get_by_label("Đã cùng lập kế hoạch an toàn").check()
    counselor.get_by_label(re.compile("đồng ý được tính")).check()
    counselor.get_by_role("button", name="Đóng ca và lưu kết quả").click()
    expect(counselor.get_by_text(f"Đã đóng ca {code}.")).to_be_visible()

    with workspace.database.session() as session:  # coded, by month, not linked to the case
        [wrapup] = session.scalars(select(CaseWrapUp)).all()
    assert (wrapup.outcome, wrapup.kinds, wrapup.contexts, wrapup.safety_plan) == (
        "safety_plan", "physical", "domestic", True)
    assert not hasattr(wrapup, "case_id")

    received = "\n".join(recorder.received)
    assert len(recorder.received) > 20 and code in received
    for secret in SECRETS:
        assert secret not in received, f"{secret!r} reached a browser in plaintext"
    _nothing_readable_at_rest(tmp_path, stack, caplog.text)


def _nothing_readable_at_rest(tmp_path: Path, stack, log_text: str) -> None:
    files = list(tmp_path.glob("e2e.db*")) + list((stack.var_dir / "log").glob("*"))
    assert any(p.name == "e2e.db" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} found in {path.name}"
    for secret in SECRETS:
        assert secret not in log_text
