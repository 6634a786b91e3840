"""Telegram webhook receiver that checks the secret in constant time.

PTB's built-in webhook server compares X-Telegram-Bot-Api-Secret-Token with
``!=``; this small Tornado app uses ``hmac.compare_digest`` and then feeds the
update to the same Application as long polling does.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING

from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApp
from tornado.web import RequestHandler

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.handlers.telegram import TelegramSettings

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/webhook"


class _UpdateHandler(RequestHandler):
    def initialize(self, ptb_app: Application, secret: str) -> None:
        # Not "application": Tornado's RequestHandler already takes that argument.
        self._application = ptb_app
        self._secret = secret.encode()

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self.set_status(403)
            return
        try:
            data = json.loads(self.request.body)
        except ValueError:
            self.set_status(400)
            return
        await self._application.update_queue.put(Update.de_json(data, self._application.bot))
        self.set_status(200)


def webhook_app(application: Application, secret: str) -> TornadoApp:
    if not secret:
        raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET")
    return TornadoApp([(PATH, _UpdateHandler, {"ptb_app": application, "secret": secret})])


async def serve_webhook(application: Application, settings: TelegramSettings) -> None:
    """Register the webhook with Telegram and serve it until cancelled."""
    server = HTTPServer(webhook_app(application, settings.webhook_secret))
    server.listen(settings.webhook_port, address="127.0.0.1")  # behind a TLS reverse proxy
    await application.bot.set_webhook(settings.webhook_url,
                                      secret_token=settings.webhook_secret)
    log.info("telegram webhook listening on 127.0.0.1:%d%s", settings.webhook_port, PATH)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
