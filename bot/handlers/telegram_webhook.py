"""Telegram webhook receiver that checks the secret in constant time.

PTB's built-in webhook server compares X-Telegram-Bot-Api-Secret-Token with
``!=``; this small Tornado app uses ``hmac.compare_digest`` and then feeds the
update to the same Application as long polling does.

With several bot workers on one port (SO_REUSEPORT), each update is claimed in the
database before it is handled and acknowledged only after: a redelivery while another
worker handles it gets 503 (Telegram tries again), one already handled gets 200 and is
dropped, and the update of a worker that died is taken by the next delivery once the
claim's lease runs out (bot/storage/seen.py). While the database is away no update can be
claimed: each gets 503 and waits for Telegram's redelivery, but a message the crisis net
flags gets the emergency reply at once (``unclaimed``). One chat's updates are claimed in
order: a later one waits while an earlier one is in hand (``order_key``), and a flagged
message that has to wait gets the emergency reply at once too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

from bot.config import bind_address

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.handlers.telegram import TelegramSettings
    from bot.storage.seen import SeenEvents

log = logging.getLogger(__name__)
Unclaimed = Callable[[Update], Awaitable[None]]
OrderKey = Callable[[Update], str | None]  # the chat's pseudonym: its updates go in order
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/webhook"


class _UpdateHandler(RequestHandler):
    def initialize(self, ptb_app: Application, secret: str, seen: SeenEvents | None,
                   lease: dt.timedelta, unclaimed: Unclaimed | None,
                   order_key: OrderKey | None) -> None:
        # Not "application": Tornado's RequestHandler already takes that argument.
        self._application = ptb_app
        self._secret = secret.encode()
        self._seen = seen
        self._lease = lease
        self._unclaimed = unclaimed
        self._order_key = order_key

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self.set_status(403)
            return
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self._application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("telegram webhook: refused a malformed update")
            self.set_status(400)
            return
        if self._seen is None:  # one worker: acknowledge at once, handle from the queue
            await self._application.update_queue.put(update)
            self.set_status(200)
            return
        await self._handle_once(update)

    async def _handle_once(self, update: Update) -> None:
        event_id = str(update.update_id)
        try:
            state = await self._claim_in_turn(update)
        except Exception as error:  # the database is away: Telegram will redeliver
            log.error("telegram webhook: cannot claim an update (%s)", type(error).__name__)
            self.set_status(503)
            if self._unclaimed is not None:
                await self._unclaimed(update)
            return
        if state == "busy":
            self.set_status(503)  # another worker is answering it
            return
        if state == "new":
            await self._application.process_update(update)
            try:
                await asyncio.to_thread(self._seen.finish, "telegram", event_id)
            except Exception as error:  # answered: a redelivery after the lease is the risk
                log.error("telegram webhook: could not mark an update done (%s)",
                          type(error).__name__)
        self.set_status(200)  # handled now, or a duplicate of one handled before

    async def _claim_in_turn(self, update: Update) -> str:
        """Claim the update once its chat's earlier updates are done."""
        chat = self._order_key(update) if self._order_key is not None else None
        waiting = (partial(self._unclaimed, update) if self._unclaimed is not None else None)
        return await self._seen.claim_in_turn("telegram", str(update.update_id), self._lease,
                                              chat, update.update_id, waiting)


def webhook_app(application: Application, secret: str, seen: SeenEvents | None = None,
                lease: dt.timedelta = dt.timedelta(seconds=30),
                unclaimed: Unclaimed | None = None,
                order_key: OrderKey | None = None) -> TornadoApp:
    if not secret:
        raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET")
    return TornadoApp([(PATH, _UpdateHandler, {"ptb_app": application, "secret": secret,
                                               "seen": seen, "lease": lease,
                                               "unclaimed": unclaimed,
                                               "order_key": order_key})])


async def serve_webhook(application: Application, settings: TelegramSettings,
                        seen: SeenEvents | None = None,
                        unclaimed: Unclaimed | None = None,
                        order_key: OrderKey | None = None) -> None:
    """Register the webhook with Telegram and serve it until cancelled. Several workers
    may listen on the same port (SO_REUSEPORT): the kernel spreads the connections."""
    lease = dt.timedelta(seconds=settings.update_lease_s)
    server = HTTPServer(webhook_app(application, settings.webhook_secret, seen, lease,
                                    unclaimed, order_key))
    server.listen(settings.webhook_port, address=bind_address(),  # behind a TLS reverse proxy
                  reuse_port=True)
    await application.bot.set_webhook(settings.webhook_url,
                                      secret_token=settings.webhook_secret)
    log.info("telegram webhook listening on %s:%d%s", bind_address(), settings.webhook_port,
             PATH)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
