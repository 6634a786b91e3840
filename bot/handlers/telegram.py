"""Telegram channel on python-telegram-bot 22's Application.

Everything said here goes through the conversation core; this module only
translates. What it adds for safety on a messenger an abuser may read:
replies are sent with protect_content; buttons carry opaque tokens; quick exit
("Thoát nhanh", /thoat) deletes every message Telegram still allows; group
chats are refused so nobody discloses in a group.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.commands import COMMANDS as TYPED_COMMANDS
from bot.commands import payload_of
from bot.core import ConversationCore, IncomingMessage
from bot.handlers.base import Channel
from bot.handlers.callback_tokens import CallbackTokens
from bot.handlers.pacing import ChatPacer
from bot.handlers.telegram_webhook import serve_webhook
from bot.replies import Reply, TurnResult
from bot.storage import ExitLog
from bot.storage.seen import SeenEvents

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DELETE_BATCH = 100  # deleteMessages takes 1–100 ids
# Telegram's 5xx and dropped connections are passing: a reply is tried again after 0.5 s
# and 1 s rather than lost (a 429 is PTB's rate limiter's job).
SEND_RETRY_DELAYS_S = (0.5, 1.0)
EXIT_LOG_FLUSH_S = 1.0  # ids wait in memory at most this long (a quick exit reads them too)
# The commands Telegram lists in the chat's menu (every typed command works).
MENU_COMMANDS = (
    ("start", "Bắt đầu và xem các lựa chọn"),
    ("menu", "Xem các lựa chọn"),
    ("thoat", "Thoát nhanh: xóa cuộc trò chuyện"),
    ("xoa", "Xóa mọi dữ liệu của tôi"),
)


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    base_url: str = DEFAULT_BASE_URL
    webhook_url: str = ""  # set: webhook mode; empty: long polling
    webhook_secret: str = ""
    webhook_port: int = 8443
    poll_timeout: int = 30
    update_lease_s: float = 30.0  # how long a worker holds an update it is answering

    @classmethod
    def from_env(cls) -> TelegramSettings | None:
        token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            return None
        return cls(
            token=token,
            base_url=os.environ.get("TELEGRAM_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            webhook_url=os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip(),
            webhook_secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            webhook_port=int(os.environ.get("TELEGRAM_WEBHOOK_PORT", "8443")),
            poll_timeout=int(os.environ.get("TELEGRAM_POLL_TIMEOUT", "30")),
            update_lease_s=float(os.environ.get("TELEGRAM_UPDATE_LEASE_S", "").strip() or 30),
        )


class TelegramChannel(Channel):
    name = "telegram"

    def __init__(self, core: ConversationCore, settings: TelegramSettings, exits: ExitLog,
                 pacer: ChatPacer | None = None, seen: SeenEvents | None = None,
                 tokens: CallbackTokens | None = None):
        super().__init__(core)
        self.settings = settings
        self._exits = exits
        self._seen = seen  # webhook updates claimed once across workers
        self._tokens = tokens or CallbackTokens()
        self._pacer = pacer or ChatPacer()
        # Updates run concurrently across chats but in order within a chat.
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self.application = self._build()
        # /xoa also forgets the message ids kept for a quick exit, and says if it could not.
        core.wipe.add("telegram message ids",
                      lambda pseudonym: asyncio.to_thread(exits.forget, pseudonym))

    # --- wiring ---------------------------------------------------------------

    def _build(self) -> Application:
        application = (
            ApplicationBuilder()
            .token(self.settings.token)
            .base_url(self.settings.base_url)
            .defaults(Defaults(protect_content=True))
            .rate_limiter(AIORateLimiter(max_retries=3))
            .concurrent_updates(True)
            .build()
        )
        private = filters.ChatType.PRIVATE
        application.add_handler(TypeHandler(Update, self._refuse_groups), group=-1)
        application.add_handler(CommandHandler(list(TYPED_COMMANDS), self._on_command,
                                               filters=private))
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(MessageHandler(private & filters.TEXT, self._on_text))
        application.add_handler(MessageHandler(private & filters.CAPTION, self._on_caption))
        application.add_handler(MessageHandler(private & ~filters.COMMAND, self._on_other))
        application.add_error_handler(self._on_error)
        return application

    async def _register_commands(self) -> None:
        await self.application.bot.set_my_commands([BotCommand(c, d) for c, d in MENU_COMMANDS])

    async def serve(self) -> None:
        """Long polling (default) or webhook, until cancelled."""
        if self.core.outbox is not None:
            self.core.outbox.register(self.name, self._relay)
        async with self.application:
            await self._register_commands()
            await self.application.start()
            flusher = asyncio.create_task(self._flush_exit_log())
            try:
                if self.settings.webhook_url:
                    await serve_webhook(self.application, self.settings, self._seen,
                                        unclaimed=self._answer_danger_now,
                                        order_key=self._chat_order_key)
                else:
                    await self.application.updater.start_polling(
                        timeout=self.settings.poll_timeout, drop_pending_updates=False)
                    await asyncio.Event().wait()
            finally:
                flusher.cancel()
                if self.application.updater.running:
                    await self.application.updater.stop()
                await self.application.stop()
                await asyncio.to_thread(self._exits.flush)
                await self.core.drain()

    async def _flush_exit_log(self) -> None:
        """Commit remembered message ids about once a second, off the reply path."""
        while True:
            await asyncio.sleep(EXIT_LOG_FLUSH_S)
            if self._exits.has_pending:
                try:
                    await asyncio.to_thread(self._exits.flush)
                except Exception as error:  # the next flush retries; a reply never waits
                    # The type only: a database error quotes the statement's parameters.
                    log.error("could not write quick-exit message ids (%s)",
                              type(error).__name__)

    # --- handlers ---------------------------------------------------------------

    async def _refuse_groups(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Nobody discloses in a group: answer group messages once, politely, and stop."""
        chat = update.effective_chat
        if chat is None or chat.type == ChatType.PRIVATE:
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) and update.message:
            await self._send(chat.id, self.core.render("group_refusal"), remember_for=None)
        raise ApplicationHandlerStop  # channel posts and group traffic go no further

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._converse(update, payload_of(update.message.text))

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        await self._converse(update, message.text or "")

    async def _on_caption(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo or file with a caption: the caption may be a disclosure; read it."""
        await self._converse(update, update.effective_message.caption or "")

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, voice, photos, locations, contacts…: a kind pointer to text."""
        message = update.effective_message
        if message is None:
            return
        pseudonym = self._pseudonym(update)
        self._exits.remember(pseudonym, [message.message_id])
        await self._send(message.chat_id, self.core.render("non_text"), remember_for=pseudonym)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()  # every callback query is answered, or the button spins
        payload = await self._tokens.redeem(query.data)
        if query.message is None or query.message.chat.type != ChatType.PRIVATE:
            return
        if payload is None:
            await self._send(query.message.chat.id, self.core.render("button_expired"),
                             remember_for=self._pseudonym(update))
            return
        await self._converse(update, payload, record_incoming=False)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Type only: an exception message may quote what the user wrote.
        log.error("telegram handler failed: %s", type(context.error).__name__)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await self._send(update.effective_chat.id, self.core.render("degraded"),
                                 remember_for=self._pseudonym(update))
            except TelegramError:
                log.error("could not send the degraded reply")

    def _chat_order_key(self, update: Update) -> str | None:
        """The chat's pseudonym: its updates are handled in order across workers."""
        return self._pseudonym(update) if update.effective_user is not None else None

    async def _answer_danger_now(self, update: Update) -> None:
        """This update must wait: for Telegram to deliver it again (the database is away),
        or for the chat's earlier update on another worker. A message the crisis net flags
        cannot wait: its emergency reply goes out now (and once more with the full answer
        later, which beats silence)."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        reply = self.core.emergency_now(message.text or message.caption or "")
        if reply is None:
            return
        try:  # text only: a button's token could not be stored for the other workers
            await self._send(chat.id, Reply(reply.text), remember_for=self._pseudonym(update))
        except Exception as error:  # the type only: an error may quote the message
            log.error("could not send the emergency reply: %s", type(error).__name__)

    # --- the conversation ---------------------------------------------------------

    def _pseudonym(self, update: Update) -> str:
        return self.core.pseudonym(self.name, str(update.effective_user.id))

    async def _converse(self, update: Update, text: str, record_incoming: bool = True) -> None:
        chat_id, user_id = update.effective_chat.id, str(update.effective_user.id)
        pseudonym = self._pseudonym(update)
        async with self._chat_locks.setdefault(chat_id, asyncio.Lock()):
            if record_incoming and update.effective_message is not None:
                self._exits.remember(pseudonym, [update.effective_message.message_id])
            result = await self.core.handle(
                IncomingMessage(self.name, user_id, text),
                early=lambda reply: self._send(chat_id, reply, remember_for=pseudonym))
            if "quick_exit" in result.actions:
                await self._quick_exit(chat_id, pseudonym, result)
                return
            # After a wipe nothing new is remembered, not even the confirmation's id.
            remember = None if "delete_my_data" in result.actions else pseudonym
            for reply in result.replies:
                await self._send(chat_id, reply, remember_for=remember)

    async def _quick_exit(self, chat_id: int, pseudonym: str, result: TurnResult) -> None:
        """Delete every message Telegram still allows, then leave one neutral line."""
        ids = await asyncio.to_thread(self._exits.take_all, pseudonym)
        for start in range(0, len(ids), DELETE_BATCH):
            try:
                await self.application.bot.delete_messages(chat_id, ids[start:start + DELETE_BATCH])
            except TelegramError as error:
                log.warning("quick exit: a deletion batch failed: %s", type(error).__name__)
        for reply in result.replies:
            await self._send(chat_id, Reply(reply.text), remember_for=None)

    async def _relay(self, chat_id: str, reply: Reply, silent: bool = False) -> None:
        """A message outside a turn (a counselor's words, a notification); a quick exit
        deletes it like any other."""
        await self._send(int(chat_id), reply, remember_for=self.core.pseudonym(self.name, chat_id),
                         silent=silent)

    async def _send(self, chat_id: int, reply: Reply, remember_for: str | None,
                    silent: bool = False) -> None:
        await self._pacer.wait(chat_id)
        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.title, callback_data=self._tokens.issue(b.payload))]
                 for b in reply.buttons])
            await self._tokens.save()  # before the user can press one, on any worker
        sent = await self._send_message(chat_id, reply.text, markup, silent)
        if remember_for is not None:
            self._exits.remember(remember_for, [sent.message_id])

    async def _send_message(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None,
                            silent: bool) -> Message:
        """sendMessage, tried again after a transient failure. A timeout may hide a message
        Telegram did take: a rare duplicate is better than a reply lost to someone in need."""
        for delay in (*SEND_RETRY_DELAYS_S, None):
            try:
                return await self.application.bot.send_message(
                    chat_id, text, reply_markup=markup, disable_notification=silent)
            except NetworkError as error:
                if isinstance(error, BadRequest) or delay is None:
                    raise
                log.warning("telegram: sending failed (%s), trying again", type(error).__name__)
                await asyncio.sleep(delay)
