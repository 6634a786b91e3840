"""A full escalation, every part real: a user on Telegram (PTB against the Bot API
stand-in) with the real Rasa stack, the counselors' HTTP API, and the `antam admin`
and `antam counselor` commands run as their own processes with their own keys.

user asks → intake → queue → notification (code and risk only) → claim → relay
both ways → the user leaves with a quick exit inside the live chat → the counselor
closes with an outcome → /xoa; then nothing the user or the counselor wrote, and no
platform id, is found in the database files or the logs."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.app import build_database, build_escalation, build_telegram
from bot.config import Settings
from bot.escalation.api import serve_api
from bot.escalation.envelope import Keyring
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import free_port, until_listening
from tests.staff_cli import after, enrol_counselor, staff

pytestmark = pytest.mark.stack
USER_CHAT = 5550001234567
COUNSELOR_CHAT = 5550009876543
DISCLOSURE = "chồng tôi đánh tôi, tôi sợ lắm"
REQUEST = "tôi muốn nói chuyện với tư vấn viên"
USER_LINE = "anh ấy vừa ra ngoài, em đang trốn trong phòng"
COUNSELOR_LINE = "Em có an toàn không? Chị đang ở đây với em."
SECRETS = (DISCLOSURE, REQUEST, USER_LINE, COUNSELOR_LINE, str(USER_CHAT), str(COUNSELOR_CHAT))


@pytest.fixture
def standin():
    with TelegramStandIn() as tg:
        yield tg


@pytest.fixture
def env(stack, standin, monkeypatch, tmp_path) -> dict[str, str]:
    for key in ("ANTAM_VAR_DIR", "ANTAM_RASA_PORT", "ANTAM_ACTIONS_PORT"):
        monkeypatch.setenv(key, stack.env[key])
    values = {"DATABASE_URL": f"sqlite:///{tmp_path / 'escalation.db'}",
              "ANTAM_DATA_KEYS": Keyring.generate_spec(), "ANTAM_API_PORT": str(free_port()),
              "TELEGRAM_BOT_TOKEN": standin.token, "TELEGRAM_BASE_URL": standin.base_url,
              "TELEGRAM_POLL_TIMEOUT": "1"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


async def _run(home: Path, *args: str, stdin: str = "") -> str:
    return await asyncio.to_thread(staff, home, *args, stdin=stdin)


class User:
    def __init__(self, standin: TelegramStandIn):
        self.standin = standin

    async def say(self, text: str) -> list[dict]:
        before = len(self.standin.sent(USER_CHAT))
        self.standin.user_message(USER_CHAT, text)
        return await self.until(before + 1)

    async def press(self, message: dict, title: str) -> list[dict]:
        markup = message.get("reply_markup") or {}
        button = next(b for row in markup["inline_keyboard"] for b in row if b["text"] == title)
        before = len(self.standin.sent(USER_CHAT))
        self.standin.callback_query(USER_CHAT, button["callback_data"], message["message_id"])
        return await self.until(before + 1)

    async def until(self, count: int) -> list[dict]:
        """Every message of the turn: at least one new one, then quiet for 0.5 s."""
        await self.standin.wait_for_sent_async(USER_CHAT, count, timeout=30)
        seen = -1
        while seen != len(self.standin.sent(USER_CHAT)):
            seen = len(self.standin.sent(USER_CHAT))
            await asyncio.sleep(0.5)
        return self.standin.sent(USER_CHAT)[count - 1:]


def test_full_escalation_keeps_content_between_user_and_counselor(env, stack, standin,
                                                                  tmp_path, caplog):
    caplog.set_level(logging.INFO)
    admin_home, counselor_home = tmp_path / "admin", tmp_path / "counselor"
    server = f"http://127.0.0.1:{env['ANTAM_API_PORT']}"
    user = User(standin)

    async def scenario() -> None:
        admin_key = after("Khóa công khai", await _run(admin_home, "admin", "init"))
        os.environ["ANTAM_ADMIN_KEYS"] = admin_key
        settings = Settings.from_env()
        database = build_database(settings)
        hub = build_escalation(settings, database)
        tasks = [asyncio.create_task(serve_api(hub, int(env["ANTAM_API_PORT"]))),
                 asyncio.create_task(build_telegram(settings, database, hub).serve())]
        try:
            await until_listening(int(env["ANTAM_API_PORT"]))
            await asyncio.to_thread(enrol_counselor, admin_home, counselor_home, server,
                                    admin_key, COUNSELOR_CHAT)
            code = await _user_asks_for_a_counselor(user, standin)
            await _counselor_takes_the_case(counselor_home, user, standin, code)
            before = len(standin.sent(USER_CHAT))
            standin.command(USER_CHAT, "/xoa")
            assert "xóa" in (await user.until(before + 1))[-1]["text"]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            os.environ.pop("ANTAM_ADMIN_KEYS", None)

    asyncio.run(scenario())
    _user_data_was_shredded(env["DATABASE_URL"])
    _nothing_readable_left(tmp_path, stack, caplog.text)


def _user_data_was_shredded(url: str) -> None:
    """/xoa: the user's data key and relayed messages are gone; the outcome stays, unlinked."""
    engine = create_engine(url)
    with engine.connect() as connection:
        subjects = connection.execute(text("select subject from subject_keys")).scalars().all()
        cases = connection.execute(text("select subject, routing, outcome from cases")).all()
        items = connection.execute(text("select count(*) from case_items")).scalar()
    engine.dispose()
    assert not [s for s in subjects if s.startswith("user:")]
    assert cases == [(None, None, "safety_plan")] and items == 0


async def _user_asks_for_a_counselor(user: User, standin: TelegramStandIn) -> str:
    crisis = await user.say(DISCLOSURE)
    assert "113" in crisis[0]["text"]
    intro = (await user.say(REQUEST))[-1]
    assert "tư vấn viên" in intro["text"] and "mã hóa" in intro["text"]
    contact = (await user.press(intro, "Cuộc trò chuyện vừa rồi"))[-1]
    confirm = (await user.press(contact, "Nhắn tin ngay tại đây"))[-1]
    assert "cuộc trò chuyện vừa rồi" in confirm["text"]
    queued = (await user.press(confirm, "Gửi yêu cầu"))[-1]
    code = re.search(r"AT-[A-Z0-9]{5}", queued["text"]).group(0)
    assert "vị trí thứ 1" in queued["text"] and "113" in queued["text"]
    [notice] = await standin.wait_for_sent_async(COUNSELOR_CHAT, 1, timeout=30)
    assert code in notice["text"] and "KHẨN CẤP" in notice["text"]  # danger came first
    assert not any(s in notice["text"] for s in (DISCLOSURE, "chồng", "đánh"))
    return code


async def _counselor_takes_the_case(home: Path, user: User, standin: TelegramStandIn,
                                    code: str) -> None:
    assert code in await _run(home, "counselor", "queue")
    before = len(standin.sent(USER_CHAT))
    await _run(home, "counselor", "claim", code)
    notice = (await user.until(before + 1))[0]
    assert notice["text"] == "Bạn có tin nhắn mới."  # discreet: nothing on the lock screen
    claimed = (await user.press(notice, "Xem"))[0]
    assert "Tư vấn viên Lan" in claimed["text"] and code in claimed["text"]
    assert "Nguyễn" not in claimed["text"]  # the alias, never the name
    case = await _run(home, "counselor", "read", code)
    assert DISCLOSURE in case and REQUEST in case  # the transcript, decrypted locally

    await user.say(USER_LINE)
    await standin.wait_for_sent_async(COUNSELOR_CHAT, 2, timeout=30)
    assert standin.sent(COUNSELOR_CHAT)[-1]["text"] == f"Có tin nhắn mới trong ca {code}."
    assert USER_LINE in await _run(home, "counselor", "read", code)

    before = len(standin.sent(USER_CHAT))
    await _run(home, "counselor", "reply", code, stdin=COUNSELOR_LINE)
    notice = (await user.until(before + 1))[0]
    assert notice["text"] == "Bạn có tin nhắn mới." and "Thoát nhanh" in _titles(notice)
    reply = (await user.press(notice, "Xem"))[0]
    assert reply["text"] == f"Tư vấn viên Lan: {COUNSELOR_LINE}"
    assert "Thoát nhanh" in _titles(reply)
    await _quick_exit_inside_the_live_chat(home, user, standin, reply, code)
    await _run(home, "counselor", "close", code, "--outcome", "safety_plan")


async def _quick_exit_inside_the_live_chat(home: Path, user: User, standin: TelegramStandIn,
                                           reply: dict, code: str) -> None:
    """The phone must be hidden: the chat is deleted, the relay ends, and the counselor
    learns only that the user left."""
    notices = len(standin.sent(COUNSELOR_CHAT))
    await user.press(reply, "Thoát nhanh")
    await standin.wait_for_async(lambda: USER_LINE not in standin.visible_texts(USER_CHAT),
                                 timeout=30)
    visible = standin.visible_texts(USER_CHAT)
    assert not any(s in text for s in (DISCLOSURE, COUNSELOR_LINE, code) for text in visible)
    left = (await standin.wait_for_sent_async(COUNSELOR_CHAT, notices + 1, timeout=30))[-1]
    assert left["text"] == f"Ca {code}: người dùng đã rời cuộc trò chuyện. Hãy ghi kết quả ca."
    transcript = await _run(home, "counselor", "read", code)
    assert "Thoát nhanh" not in transcript and "quick_exit" not in transcript
    assert "người dùng đã rời" in transcript
    answer = await user.say("cho mình xin số đường dây nóng")  # the bot answers again
    assert "1900" in answer[-1]["text"]
    assert len(standin.sent(COUNSELOR_CHAT)) == notices + 1  # and not the counselor


def _titles(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def _nothing_readable_left(tmp_path: Path, stack, log_text: str) -> None:
    files = [p for p in tmp_path.glob("escalation.db*")] + list(
        (stack.var_dir / "log").glob("*"))
    assert any(p.name == "escalation.db" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} found in {path.name}"
    for secret in SECRETS:
        assert secret not in log_text, f"{secret!r} found in the bot's log"
