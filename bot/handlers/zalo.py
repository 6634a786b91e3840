"""Zalo channel on the Zalo Official Account API (see docs/channels.md for why).

Every webhook call is verified before anything else: the X-ZEvent-Signature
MAC (compared in constant time), a timestamp window against replays, and a
de-duplication of message ids. Zalo cannot delete messages, so quick exit
wipes what An Tâm holds and says honestly that the chat must be deleted by
hand. Buttons become numbered options: replying "2" presses the second. A button
that has a typed command (quick exit, ending a chat with a counselor) is shown as that
command instead, never as a number: a "1" meant as an answer must not end anything.
Messages that arrive outside the user's turn (a counselor's words) carry no numbers at
all, so a digit typed after them goes to the counselor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from bot.commands import command_for
from bot.config import bind_address
from bot.core import ConversationCore, IncomingMessage
from bot.handlers.base import Channel
from bot.handlers.zalo_api import TokenKeeper, Tokens, TokenStore, ZaloClient, ZaloError
from bot.replies import Reply, TurnResult
from bot.storage.seen import SeenEvents
from bot.storage.user_memory import LocalUserMemory, UserMemory

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ZEvent-Signature"
PATH = "/zalo/webhook"
OPTIONS_KEPT_S = 30 * 60  # a number typed later than this is read as text
CLAIM_LEASE = dt.timedelta(seconds=60)  # one worker's hold on a message it is answering
NON_TEXT_EVENTS = frozenset({"user_send_image", "user_send_sticker", "user_send_gif",
                             "user_send_audio", "user_send_video", "user_send_file",
                             "user_send_location", "user_send_link", "user_send_business_card"})


@dataclass(frozen=True)
class ZaloSettings:
    app_id: str
    oa_secret_key: str  # signs webhooks
    app_secret: str  # authenticates token refresh
    access_token: str
    refresh_token: str
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    webhook_port: int = 8444
    max_skew_s: int = 300

    @classmethod
    def from_env(cls) -> ZaloSettings | None:
        env = {k: os.environ.get(k, "").strip() for k in (
            "ZALO_APP_ID", "ZALO_OA_SECRET_KEY", "ZALO_APP_SECRET", "ZALO_ACCESS_TOKEN",
            "ZALO_REFRESH_TOKEN")}
        if not all(env.values()):
            return None  # disabled unless fully configured
        return cls(env["ZALO_APP_ID"], env["ZALO_OA_SECRET_KEY"], env["ZALO_APP_SECRET"],
                   env["ZALO_ACCESS_TOKEN"], env["ZALO_REFRESH_TOKEN"],
                   os.environ.get("ZALO_API_BASE") or cls.api_base,
                   os.environ.get("ZALO_OAUTH_BASE") or cls.oauth_base,
                   int(os.environ.get("ZALO_WEBHOOK_PORT") or cls.webhook_port),
                   int(os.environ.get("ZALO_MAX_SKEW_S") or cls.max_skew_s))


def signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """Zalo's mac: sha256 over app_id + raw body + timestamp + OA secret key."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode()).hexdigest()


def initial_tokens(settings: ZaloSettings) -> Tokens:
    """The tokens from the environment, used until a refresh saves newer ones."""
    return Tokens(settings.access_token, settings.refresh_token)


class ZaloChannel(Channel):
    name = "zalo"

    def __init__(self, core: ConversationCore, settings: ZaloSettings, var_dir: Path,
                 seen: SeenEvents, options: UserMemory | None = None,
                 tokens: TokenKeeper | None = None):
        super().__init__(core)
        self.settings = settings
        store = tokens or TokenStore(var_dir / "zalo-tokens.json", initial_tokens(settings))
        self.client = ZaloClient(settings.api_base, settings.oauth_base, settings.app_id,
                                 settings.app_secret, store)
        self._seen = seen  # message ids handled in the replay window, in the database
        # The payloads of the numbered options shown last, per pseudonym: shared by workers.
        self._options = options or LocalUserMemory()
        self._locks: dict[str, asyncio.Lock] = {}

    async def serve(self) -> None:
        if self.core.outbox is not None:
            self.core.outbox.register(self.name, self._relay)
        server = HTTPServer(TornadoApp([(PATH, _WebhookHandler, {"channel": self})]))
        # Several workers may share the port (SO_REUSEPORT); the kernel spreads connections.
        server.listen(self.settings.webhook_port, address=bind_address(), reuse_port=True)
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()
            await self.client.close()
            await self.core.drain()

    # --- verification -----------------------------------------------------------

    def verify(self, body: bytes, header: str) -> dict | None:
        """The event if the call is authentic and fresh, else None."""
        try:
            event = json.loads(body)
            timestamp = str(event["timestamp"])
            sent_ms = int(timestamp)
        except (ValueError, KeyError, TypeError):
            return None
        given = header.removeprefix("mac=").strip()
        expected = signature(self.settings.app_id, body, timestamp, self.settings.oa_secret_key)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return None
        age_s = abs(time.time() - sent_ms / 1000)
        return event if age_s <= self.settings.max_skew_s else None

    # --- conversation -------------------------------------------------------------

    async def handle_event(self, event: dict) -> None:
        name = event.get("event_name", "")
        sender_doc, message = event.get("sender"), event.get("message")
        if not isinstance(sender_doc, dict) or not isinstance(message, dict):
            return  # not a user message (or not one Zalo would send)
        sender = str(sender_doc.get("id", ""))
        msg_id = str(message.get("msg_id", ""))
        if not sender or not msg_id:
            return  # not a user message
        text = str(message.get("text", "")) if name == "user_send_text" else ""
        if not await self._claim_in_turn(msg_id, sender, event.get("timestamp"), text):
            return  # replayed (even across a restart), or being answered by another worker
        try:
            if name in NON_TEXT_EVENTS:
                await self._send(sender, self.core.render("non_text"))
            elif name == "user_send_text":
                await self._converse(sender, text)
        finally:
            await self._finish(msg_id)

    async def _claim_in_turn(self, msg_id: str, sender: str, timestamp: object,
                             text: str) -> bool:
        """True to answer the message: new, and after the user's earlier messages (by Zalo's
        timestamp) that another worker may be answering; a flagged message that has to wait
        gets the emergency reply meanwhile. Zalo never delivers a message again, so with the
        database away it is answered anyway, without the replay check."""
        pseudonym = self.core.pseudonym(self.name, sender)
        seq = int(timestamp) if str(timestamp).isdigit() else None

        async def danger_now() -> None:
            reply = self.core.emergency_now(text)
            if reply is not None:
                await self._send(sender, reply)

        try:
            state = await self._seen.claim_in_turn(self.name, msg_id, CLAIM_LEASE, pseudonym,
                                                   seq, danger_now)
        except Exception as error:  # the type only: a database error quotes parameters
            log.error("zalo: cannot check the message against replays (%s); answering it",
                      type(error).__name__)
            return True
        return state == "new"

    async def _finish(self, msg_id: str) -> None:
        try:
            await asyncio.to_thread(self._seen.finish, self.name, msg_id)
        except Exception as error:
            log.error("zalo: could not mark a message answered (%s)", type(error).__name__)

    async def _converse(self, sender: str, text: str) -> None:
        pseudonym = self.core.pseudonym(self.name, sender)
        async with self._locks.setdefault(pseudonym, asyncio.Lock()):
            text = pick_option(text, await self._shown_options(pseudonym))
            payloads: list[str] = []  # numbered options, the early emergency reply's first
            result = await self.core.handle(
                IncomingMessage(self.name, sender, text),
                early=lambda reply: self._send(sender, reply, payloads))
            await self._deliver(sender, pseudonym, result, payloads)

    async def _deliver(self, sender: str, pseudonym: str, result: TurnResult,
                       payloads: list[str]) -> None:
        if "quick_exit" in result.actions or "delete_my_data" in result.actions:
            await self._options.drop(pseudonym)
        if "quick_exit" in result.actions:
            # Zalo has no API to delete a chat: say so instead of pretending.
            await self._send(sender, self.core.render("quick_exit_unsupported"))
            return
        for reply in result.replies:
            await self._send(sender, reply, payloads)
        await self._remember_options(pseudonym, payloads)

    async def _relay(self, sender: str, reply: Reply, silent: bool = False) -> None:
        """A message outside a turn (a counselor's words): typed commands only, and the
        numbers of earlier options stop working, so a digit answers the counselor.
        Zalo has no silent delivery; ``silent`` is accepted for the outbox's sake."""
        await self._options.drop(self.core.pseudonym(self.name, sender))
        await self._send(sender, reply)

    async def _shown_options(self, pseudonym: str) -> list[str]:
        return json.loads(await self._options.get(pseudonym) or "[]")

    async def _remember_options(self, pseudonym: str, payloads: list[str]) -> None:
        if payloads:
            await self._options.put(pseudonym, json.dumps(payloads),
                                    self._options.clock() + OPTIONS_KEPT_S)
        else:
            await self._options.drop(pseudonym)

    async def _send(self, sender: str, reply: Reply, payloads: list[str] | None = None) -> None:
        """``payloads`` collects the numbered options (None: number nothing)."""
        try:
            await self.client.send_text(sender, zalo_text(reply, payloads))
        except (ZaloError, httpx.HTTPError) as error:
            log.error("zalo send failed: %s", type(error).__name__)


def zalo_text(reply: Reply, payloads: list[str] | None = None) -> str:
    """A reply as Zalo shows it: buttons become numbered options (their payloads are
    appended to ``payloads``) or, for commands, the command to type."""
    lines = [reply.text]
    for button in reply.buttons:
        command = command_for(button.payload)
        if command is not None:
            lines.append(f"[{command}] {button.title}")
        elif payloads is not None:
            payloads.append(button.payload)
            lines.append(f"[{len(payloads)}] {button.title}")
    return "\n".join(lines)[:2000]


def pick_option(text: str, payloads: list[str]) -> str:
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(payloads):
        return payloads[int(stripped) - 1]
    return text


class _WebhookHandler(RequestHandler):
    def initialize(self, channel: ZaloChannel) -> None:
        self._channel = channel

    async def post(self) -> None:
        event = self._channel.verify(self.request.body,
                                     self.request.headers.get(SIGNATURE_HEADER, ""))
        if event is None:
            self.set_status(401)
            return
        self.set_status(200)
        self.finish()  # Zalo wants a quick 200; the answer goes out through the send API
        await self._channel.handle_event(event)
