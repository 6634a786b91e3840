"""The Telegram webhook receiver checks the secret before queuing an update."""

from __future__ import annotations

import asyncio

import httpx
from telegram.ext import ApplicationBuilder
from tornado.httpserver import HTTPServer

from bot.handlers.telegram_webhook import PATH, SECRET_HEADER, webhook_app
from bot.storage.seen import SeenEvents
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import free_port

UPDATE = {"update_id": 7, "message": {"message_id": 1, "date": 0, "text": "xin chào",
                                      "chat": {"id": 5, "type": "private"},
                                      "from": {"id": 5, "is_bot": False, "first_name": "A"}}}


def test_only_calls_with_the_secret_are_queued():
    async def scenario() -> list[int]:
        with TelegramStandIn() as standin:
            application = ApplicationBuilder().token(standin.token).base_url(
                standin.base_url).build()
            port = free_port()
            server = HTTPServer(webhook_app(application, "s3cret"))
            server.listen(port, address="127.0.0.1")
            url = f"http://127.0.0.1:{port}{PATH}"
            statuses = []
            async with httpx.AsyncClient() as client:
                for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: "s3cret"}):
                    statuses.append((await client.post(url, json=UPDATE, headers=headers))
                                    .status_code)
            server.stop()
            queued = application.update_queue.qsize()
            update = await application.update_queue.get()
            assert update.message.text == "xin chào" and queued == 1
            return statuses

    assert asyncio.run(scenario()) == [403, 403, 200]


class _DatabaseAway(SeenEvents):
    """SeenEvents while PostgreSQL restarts: every claim raises."""

    def __init__(self) -> None:
        pass

    def claim(self, *args: object) -> str:
        raise ConnectionError("the database is away")


def test_an_update_that_cannot_be_claimed_waits_for_redelivery_but_danger_is_answered():
    async def scenario() -> tuple[int, list[str]]:
        with TelegramStandIn() as standin:
            application = ApplicationBuilder().token(standin.token).base_url(
                standin.base_url).build()
            heard: list[str] = []

            async def unclaimed(update) -> None:
                heard.append(update.message.text)

            port = free_port()
            server = HTTPServer(webhook_app(application, "s3cret", _DatabaseAway(),
                                            unclaimed=unclaimed))
            server.listen(port, address="127.0.0.1")
            async with httpx.AsyncClient() as client:
                answer = await client.post(f"http://127.0.0.1:{port}{PATH}", json=UPDATE,
                                           headers={SECRET_HEADER: "s3cret"})
            server.stop()
            assert application.update_queue.qsize() == 0, "nothing handled without a claim"
            return answer.status_code, heard

    assert asyncio.run(scenario()) == (503, ["xin chào"])
