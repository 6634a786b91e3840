"""Telegram end to end: the real PTB Application against a Bot API stand-in on
127.0.0.1, with the real Rasa server and action server behind the core."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.app import build_telegram
from bot.config import Settings
from bot.handlers.telegram import TelegramChannel
from bot.rasa_runtime import rasa_env, rasa_server_command
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import free_port

pytestmark = pytest.mark.stack
CHAT = 424242


@pytest.fixture
def standin():
    with TelegramStandIn() as tg:
        yield tg


@pytest.fixture
def telegram_env(stack, standin, monkeypatch) -> Callable[[], Settings]:
    """Point the app at the session's stack and at the stand-in."""
    for key in ("ANTAM_VAR_DIR", "ANTAM_RASA_PORT", "ANTAM_ACTIONS_PORT"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", standin.token)
    monkeypatch.setenv("TELEGRAM_BASE_URL", standin.base_url)
    monkeypatch.setenv("TELEGRAM_POLL_TIMEOUT", "1")
    return Settings.from_env


@asynccontextmanager
async def running(channel: TelegramChannel) -> AsyncIterator[TelegramChannel]:
    task = asyncio.create_task(channel.serve())
    try:
        yield channel
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _bot_texts(standin: TelegramStandIn, chat: int = CHAT) -> list[str]:
    return [m["text"] or "" for m in standin.sent(chat)]


def _buttons(sent: dict) -> list[dict]:
    markup = sent.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _say(standin: TelegramStandIn, text_: str, expect: int = 1) -> list[dict]:
    before = len(standin.sent(CHAT))
    if text_.startswith("/"):
        standin.command(CHAT, text_)
    else:
        standin.user_message(CHAT, text_)
    sent = await standin.wait_for_sent_async(CHAT, before + expect, timeout=20)
    return sent[before:]


def test_start_question_crisis_and_button(telegram_env, standin):
    async def scenario():
        async with running(build_telegram(telegram_env())):
            welcome = (await _say(standin, "/start"))[0]
            assert "An Tâm" in welcome["text"] and "30 phút" in welcome["text"]
            assert welcome["protect_content"] is True
            buttons = _buttons(welcome)
            assert buttons and all(not b["callback_data"].startswith("/") for b in buttons)
            assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

            hotlines = (await _say(standin, "cho toi xin so duong day nong"))[0]
            assert "1900 969 680" in hotlines["text"]

            crisis = await _say(standin, "chồng tôi đang đánh tôi, cứu tôi")
            assert "113" in crisis[0]["text"] and "115" in crisis[0]["text"]

            press = next(b for b in buttons if b["text"] == "Số điện thoại hỗ trợ")
            before = len(standin.sent(CHAT))
            standin.callback_query(CHAT, press["callback_data"], welcome["message_id"])
            await standin.wait_for_sent_async(CHAT, before + 1, timeout=20)
            assert standin.answered_callbacks(), "every callback query is answered"
            assert "1800 1233" in _bot_texts(standin)[-1]
    asyncio.run(scenario())
    commands = {c["command"]: c["description"] for c in standin.commands}
    assert commands["thoat"].startswith("Thoát nhanh") and "xoa" in commands


def test_quick_exit_deletes_the_conversation(telegram_env, standin):
    async def scenario():
        async with running(build_telegram(telegram_env())):
            await _say(standin, "/start")
            await _say(standin, "tôi bị sếp quấy rối ở công ty")
            crisis = await _say(standin, "anh ta dọa giết tôi")
            exit_button = next(b for b in _buttons(crisis[0]) if b["text"] == "Thoát nhanh")
            standin.callback_query(CHAT, exit_button["callback_data"], crisis[0]["message_id"])
            await standin.wait_for_async(lambda: standin.deleted(CHAT), timeout=20)
            await standin.wait_for_async(
                lambda: "Chúc bạn" in (standin.visible_texts(CHAT) or [""])[-1], timeout=20)
    asyncio.run(scenario())
    visible = standin.visible_texts(CHAT)
    assert len(visible) == 1 and "Chúc bạn một ngày tốt lành" in visible[0], visible
    calls = standin.calls("deleteMessages")
    assert calls and all(1 <= len(params["message_ids"]) <= 100 for _, params in calls)


def test_delete_my_data_wipes_what_is_stored(telegram_env, standin, stack):
    engine = create_engine(f"sqlite:///{stack.var_dir / 'antam.db'}")

    def stored() -> tuple[int, int]:
        with engine.connect() as connection:
            return (connection.execute(text("select count(*) from participants")).scalar_one(),
                    connection.execute(text("select count(*) from exit_messages")).scalar_one())

    async def scenario():
        async with running(build_telegram(telegram_env())):
            await _say(standin, "/start")
            # The reply's id is remembered just after Telegram accepted it.
            await standin.wait_for_async(lambda: stored()[1] >= 2, timeout=10)
            participants, _ = stored()
            reply = (await _say(standin, "/xoa"))[0]
            assert "đã được xóa" in reply["text"]
            assert "bạo lực" not in reply["text"].lower()
            return participants
    participants_before = asyncio.run(scenario())
    participants_after, exits_after = stored()
    assert participants_after == participants_before - 1 and exits_after == 0


def test_stickers_media_and_groups_get_kind_answers(telegram_env, standin):
    async def scenario():
        async with running(build_telegram(telegram_env())):
            for send in (standin.sticker, standin.voice, standin.location, standin.contact,
                         standin.photo, standin.document):
                before = len(standin.sent(CHAT))
                send(CHAT)
                await standin.wait_for_sent_async(CHAT, before + 1, timeout=20)
                assert "chỉ đọc được tin nhắn chữ" in _bot_texts(standin)[-1]
            standin.user_message(-1001, "tôi bị chồng đánh", chat_type="supergroup")
            refusal = (await standin.wait_for_sent_async(-1001, 1, timeout=20))[0]
            assert "trò chuyện riêng" in refusal["text"] and "113" not in refusal["text"]
            standin.channel_post(-1002, "tin kênh")
            before = len(standin.sent(CHAT))
            standin.user_message(CHAT, "a" * 10_000)
            await standin.wait_for_sent_async(CHAT, before + 1, timeout=20)
            standin.user_message(CHAT, "xin\x00 chào \u202e🙏 hello 你好")
            await standin.wait_for_sent_async(CHAT, before + 2, timeout=20)
            standin.forwarded(CHAT, "tao sẽ giết mày nếu mày dám đi báo công an")
            first = (await standin.wait_for_sent_async(CHAT, before + 3, timeout=20))[-1]
            assert "113" in first["text"], "a forwarded threat reaches the safety net"
            await asyncio.sleep(1.0)  # the rest of that turn
            count = len(standin.sent(CHAT))
            own = standin.user_message(CHAT, "xin chao")["message"]["message_id"]
            await standin.wait_for_sent_async(CHAT, count + 1, timeout=20)
            standin.edited_message(CHAT, own, "xin chào bạn")
            await standin.wait_for_sent_async(CHAT, count + 2, timeout=20)
    asyncio.run(scenario())
    assert not standin.sent(-1002), "channel posts are ignored"


def test_a_429_is_retried_after_retry_after(telegram_env, standin):
    async def scenario():
        async with running(build_telegram(telegram_env())):
            standin.fail_next("sendMessage", retry_after=1)
            await _say(standin, "/start")
    asyncio.run(scenario())
    assert len(standin.calls("sendMessage")) >= 2, "the message was sent again after the 429"


def test_a_telegram_5xx_is_retried_not_lost(telegram_env, standin):
    async def scenario():
        async with running(build_telegram(telegram_env())):
            standin.fail_next("sendMessage", error_code=502, times=2)
            return await _say(standin, "tôi muốn chết")
    first = asyncio.run(scenario())[0]
    assert "113" in first["text"], "the emergency reply survives two Bad Gateways"
    assert len(standin.calls("sendMessage")) >= 3


@pytest.fixture
def own_rasa(stack):
    """A second Rasa server (same model and action server) that a test may stop."""
    settings = Settings.from_env()
    port = free_port()
    env = rasa_env(settings)
    env.update({"ANTAM_CHANNEL_SECRET": stack.secret("channel-secret.key"),
                "ANTAM_ACTIONS_URL": f"http://127.0.0.1:{stack.actions_port}/webhook"})
    command = rasa_server_command(settings)
    command[command.index("--port") + 1] = str(port)
    token_at = next(i for i, arg in enumerate(command) if arg.startswith("--auth-token="))
    command[token_at] = f"--auth-token={stack.secret('rasa-token.key')}"

    def start() -> subprocess.Popen:
        process = subprocess.Popen(command, env=env, cwd=settings.root,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/status?token={stack.secret('rasa-token.key')}"
        for _ in range(240):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError("rasa did not start")
            time.sleep(0.5)
        raise RuntimeError("rasa not ready")

    processes: list[subprocess.Popen] = []
    yield port, start, processes
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def test_degraded_mode_then_recovery_without_restart(telegram_env, standin, own_rasa,
                                                      monkeypatch):
    port, start, processes = own_rasa
    processes.append(start())
    monkeypatch.setenv("ANTAM_RASA_PORT", str(port))

    async def scenario():
        async with running(build_telegram(telegram_env())):
            assert "1900 969 680" in (await _say(standin, "số điện thoại hỗ trợ"))[0]["text"]
            processes[0].terminate()
            await asyncio.to_thread(processes[0].wait, 30)
            crisis = await _say(standin, "chồng tôi đang đánh tôi")
            assert "113" in crisis[0]["text"]
            other = (await _say(standin, "tôi muốn hỏi về luật"))[0]
            assert "Xin lỗi" in other["text"] and "1900 969 680" in other["text"]
            processes.append(await asyncio.to_thread(start))
            back = (await _say(standin, "cho toi xin so duong day nong"))[0]
            assert "Xin lỗi" not in back["text"] and "1800 1233" in back["text"]
    asyncio.run(scenario())
