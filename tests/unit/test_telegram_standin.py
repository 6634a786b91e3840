"""The Telegram stand-in must satisfy the real PTB Application, not just our own assumptions.

Every test talks HTTP to the stand-in through PTB 22's own request stack (no mocks), so a
wrongly shaped result or a misread parameter fails here before it confuses the bot's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import threading
import time
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram_api import BOT_USERNAME, TelegramStandIn

TOKEN = "123456789:standin-test-token"
CHAT = 4242
SCENARIO_TIMEOUT_S = 10

KEYBOARD = InlineKeyboardMarkup([[
    InlineKeyboardButton("Có", callback_data="safe:yes"),
    InlineKeyboardButton("Không", callback_data="safe:no"),
]])


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """asyncio.run with a hard bound, since pytest-asyncio is not a dependency."""
    asyncio.run(asyncio.wait_for(scenario, SCENARIO_TIMEOUT_S))


@pytest.fixture
def standin() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(TOKEN) as fake:
        yield fake


# --------------------------------------------------------------------------- a tiny real bot


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    sent = await update.effective_message.reply_text(
        "Bạn có an toàn không?", reply_markup=KEYBOARD, protect_content=True
    )
    context.bot_data.setdefault("menus", []).append(sent)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer(text=f"Đã chọn {query.data}")
    await query.edit_message_text(f"Bạn đã chọn: {query.data}")


@contextlib.asynccontextmanager
async def running_app(standin: TelegramStandIn) -> AsyncIterator[Application]:
    """A real Application long-polling the stand-in; fails if any handler raised."""
    app = ApplicationBuilder().token(TOKEN).base_url(standin.base_url).build()
    errors: list[object] = []

    async def record_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(record_error)
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert not errors, f"handlers raised: {errors!r}\n{standin.dump()}"


def seconds(value: int | float | dtm.timedelta) -> float:
    """PTB 22 returns ints with a deprecation warning, or timedeltas with PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# --------------------------------------------------------------------------- Application tests


def test_text_update_is_received_and_echoed(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with running_app(standin):
            standin.user_message(CHAT, "Xin chào")
            [reply] = await standin.wait_for_sent_async(CHAT, 1, timeout=5)
        assert reply["text"] == "Xin chào"
        assert reply["message_id"] == 2  # incoming took 1: one sequence per chat
        assert standin.visible_texts(CHAT) == ["Xin chào", "Xin chào"]
        assert standin.pending_updates() == []  # the shutdown poll confirmed the offset

    run(scenario())


def test_keyboard_and_protect_content_are_recorded(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with running_app(standin) as app:
            standin.command(CHAT, "/menu")
            [sent] = await standin.wait_for_sent_async(CHAT, 1, timeout=5)
            # The stand-in records before PTB has parsed the answer: wait for the handler too.
            [message] = await standin.wait_for_async(lambda: app.bot_data.get("menus"), 5)
        assert sent["protect_content"] is True
        assert sent["reply_markup"] == KEYBOARD.to_dict()
        assert message.has_protected_content is True
        assert message.reply_markup == KEYBOARD
        assert message.from_user.username == BOT_USERNAME

    run(scenario())


def test_callback_query_is_answered_and_message_edited(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with running_app(standin):
            standin.command(CHAT, "/menu")
            [sent] = await standin.wait_for_sent_async(CHAT, 1, timeout=5)
            standin.callback_query(CHAT, "safe:yes", sent["message_id"])
            await standin.wait_for_async(standin.answered_callbacks, timeout=5)
            await standin.wait_for_async(lambda: standin.calls("editMessageText"), timeout=5)
        [answer] = standin.answered_callbacks()
        assert answer["text"] == "Đã chọn safe:yes"
        edited = standin.message(CHAT, sent["message_id"])
        assert edited["text"] == "Bạn đã chọn: safe:yes"
        assert "reply_markup" not in edited  # editing text without a keyboard drops it

    run(scenario())


def test_delete_messages_hides_them_from_the_phone(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with running_app(standin) as app:
            standin.user_message(CHAT, "bí mật")
            await standin.wait_for_sent_async(CHAT, 1, timeout=5)
            note = await app.bot.send_message(CHAT, "Tin nhắn sẽ bị xoá")
            assert await app.bot.delete_messages(CHAT, [1, 2]) is True
        assert standin.deleted(CHAT) == {1, 2}
        assert [m["message_id"] for m in standin.visible_messages(CHAT)] == [note.message_id]
        [(_, params)] = standin.calls("deleteMessages")
        assert params["message_ids"] == [1, 2]

    run(scenario())


def test_injected_429_surfaces_as_retry_after(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with running_app(standin) as app:
            standin.fail_next("sendMessage", retry_after=7)
            with warnings.catch_warnings():  # PTB 22 warns about int vs timedelta periods
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                with pytest.raises(RetryAfter) as caught:
                    await app.bot.send_message(CHAT, "quá nhanh")
                assert seconds(caught.value.retry_after) == 7
            await app.bot.send_message(CHAT, "lần sau được")  # only the next call fails
        assert [s["text"] for s in standin.sent(CHAT)] == ["lần sau được"]
        assert len(standin.calls("sendMessage")) == 2

    run(scenario())


def test_unknown_token_is_rejected(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        bot = Bot("987654321:not-the-right-token", base_url=standin.base_url)
        with pytest.raises((InvalidToken, Forbidden)):
            await bot.initialize()  # initialize() is PTB's get_me() check
        with pytest.raises((InvalidToken, Forbidden)):
            await bot.get_me()
        await bot.shutdown()
        assert standin.calls() == []

    run(scenario())


# --------------------------------------------------------------------------- stand-in details


def test_every_update_helper_parses_as_a_ptb_update(standin: TelegramStandIn) -> None:
    bot = Bot(TOKEN, base_url=standin.base_url)
    text = standin.user_message(CHAT, "một")
    group = standin.user_message(-100, "nhóm", user_id=7, chat_type="group")
    supergroup = standin.user_message(-1001234567890, "siêu nhóm", chat_type="supergroup")
    parsed = {
        "command": standin.command(CHAT, "/start deep-link"),
        "sticker": standin.sticker(CHAT),
        "photo": standin.photo(CHAT, caption="ảnh"),
        "voice": standin.voice(CHAT),
        "document": standin.document(CHAT),
        "location": standin.location(CHAT),
        "contact": standin.contact(CHAT),
        "forwarded": standin.forwarded(CHAT, "chuyển tiếp"),
        "edited": standin.edited_message(CHAT, text["message"]["message_id"], "một (sửa)"),
        "channel": standin.channel_post(-1009876543210, "kênh"),
    }
    updates = {k: Update.de_json(v, bot) for k, v in parsed.items()}
    assert updates["command"].message.entities[0].type == "bot_command"
    assert updates["command"].message.text.split()[1] == "deep-link"
    assert updates["sticker"].message.sticker.emoji == "🙂"
    assert updates["photo"].message.photo[-1].width == 1280
    assert updates["voice"].message.voice.mime_type == "audio/ogg"
    assert updates["document"].message.document.file_name == "file.pdf"
    assert updates["location"].message.location.latitude == pytest.approx(21.0285)
    assert updates["contact"].message.contact.phone_number.startswith("+84")
    assert updates["forwarded"].message.forward_origin.sender_user_name == "Someone"
    assert updates["edited"].edited_message.text == "một (sửa)"
    assert updates["channel"].channel_post.chat.type == "channel"
    assert Update.de_json(group, bot).effective_chat.type == "group"
    assert Update.de_json(supergroup, bot).effective_user.id == 1001
    ids = [u["update_id"] for u in standin.pending_updates()]
    assert ids == sorted(ids) and len(ids) == 13
    assert [m["message_id"] for m in standin.visible_messages(CHAT)] == list(range(1, 10))


def test_long_poll_waits_for_an_update_and_honours_offset(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            timer = threading.Timer(0.3, standin.user_message, (CHAT, "muộn"))
            timer.start()
            started = time.monotonic()
            updates = await bot.get_updates(timeout=5)
            assert 0.2 < time.monotonic() - started < 3
            assert [u.message.text for u in updates] == ["muộn"]
            again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
            assert again == ()
            assert standin.pending_updates() == []

    run(scenario())


def test_uploads_commands_and_unknown_methods(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            doc = await bot.send_document(CHAT, b"\x00bytes\r\n", filename="a.txt", caption="tệp")
            assert doc.document.file_name == "a.txt"
            assert await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
            assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
            assert await bot.send_chat_action(CHAT, "typing") is True
            assert await bot.do_api_request("someFutureMethod", api_kwargs={"x": 1}) is True
        [(_, params)] = standin.calls("sendDocument")
        assert params["document"]["data"] == b"\x00bytes\r\n"
        assert standin.commands == [
            {"command": "start", "description": "Bắt đầu"},
            {"command": "help", "description": "Trợ giúp"},
        ]
        assert standin.calls("someFutureMethod") == [("someFutureMethod", {"x": 1})]

    run(scenario())


def test_telegram_rejections_are_simulated(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            sent = await bot.send_message(CHAT, "cũ", reply_markup=KEYBOARD)
            with pytest.raises(BadRequest, match="not modified"):
                await bot.edit_message_text("cũ", CHAT, sent.message_id, reply_markup=KEYBOARD)
            standin.advance_clock(49 * 3600)
            with pytest.raises(BadRequest, match="can't be deleted"):
                await bot.delete_message(CHAT, sent.message_id)
            with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
                too_long = InlineKeyboardButton("x", callback_data="d" * 65)
                await bot.send_message(CHAT, "x", reply_markup=InlineKeyboardMarkup([[too_long]]))
            standin.fail_next("sendMessage", error_code=403, description="Forbidden: blocked")
            with pytest.raises(Forbidden):
                await bot.send_message(CHAT, "bị chặn")
        assert standin.visible_texts(CHAT) == ["cũ"]

    run(scenario())


def test_wait_for_explains_a_timeout(standin: TelegramStandIn) -> None:
    standin.user_message(CHAT, "không ai trả lời")
    with pytest.raises(AssertionError, match="pending updates: \\[1000\\]"):
        standin.wait_for_sent(CHAT, 1, timeout=0.1)


def test_wait_for_refuses_to_block_the_event_loop(standin: TelegramStandIn) -> None:
    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="wait_for_async"):
            standin.wait_for(lambda: True)

    run(scenario())
