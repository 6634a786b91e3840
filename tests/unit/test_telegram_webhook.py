"""The Telegram webhook receiver checks the secret before queuing an update, waits for an
update it cannot claim, and never makes a message from someone in danger wait for that."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from bot.handlers.telegram_webhook import PATH, SECRET_HEADER, webhook_app
from bot.storage.seen import SeenEvents
from tests.fakes.telegram_api import TelegramStandIn
from tests.helpers import serving, telegram_application

UPDATE = {"update_id": 7, "message": {"message_id": 1, "date": 0, "text": "xin chào",
                                      "chat": {"id": 5, "type": "private"},
                                      "from": {"id": 5, "is_bot": False, "first_name": "A"}}}
SIGNED = {SECRET_HEADER: "s3cret"}


def test_only_calls_with_the_secret_are_queued():
    async def scenario() -> list[int]:
        with TelegramStandIn() as standin:
            application = telegram_application(standin)
            with serving(webhook_app(application, "s3cret")) as base:
                statuses = []
                async with httpx.AsyncClient() as client:
                    for headers in ({}, {SECRET_HEADER: "wrong"}, SIGNED):
                        statuses.append((await client.post(f"{base}{PATH}", json=UPDATE,
                                                           headers=headers)).status_code)
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
            application = telegram_application(standin)
            heard: list[str] = []

            async def unclaimed(update) -> None:
                heard.append(update.message.text)

            app = webhook_app(application, "s3cret", _DatabaseAway(), unclaimed=unclaimed)
            with serving(app) as base:
                async with httpx.AsyncClient() as client:
                    answer = await client.post(f"{base}{PATH}", json=UPDATE, headers=SIGNED)
            assert application.update_queue.qsize() == 0, "nothing handled without a claim"
            return answer.status_code, heard

    assert asyncio.run(scenario()) == (503, ["xin chào"])


def test_an_update_waiting_behind_its_chats_earlier_one_is_told_to_answer_danger_now(
        database):
    """Another worker holds the chat's update 6; update 7 waits its turn, and the hook that
    sends the emergency reply runs while it waits, not after."""
    database.migrate()
    seen = SeenEvents(database, dt.timedelta(days=1))
    lease = dt.timedelta(seconds=30)
    assert seen.claim("telegram", "6", lease, "chat-5", 6) == "new"

    async def scenario() -> tuple[list[str], bool, int]:
        with TelegramStandIn() as standin:
            application = telegram_application(standin)
            heard: list[str] = []
            told = asyncio.Event()

            async def danger_now(update) -> None:
                heard.append(update.message.text)
                told.set()

            app = webhook_app(application, "s3cret", seen, lease, unclaimed=danger_now,
                              order_key=lambda update: "chat-5")
            async with application:
                with serving(app) as base:
                    async with httpx.AsyncClient(timeout=60) as client:
                        post = asyncio.create_task(
                            client.post(f"{base}{PATH}", json=UPDATE, headers=SIGNED))
                        await told.wait()  # the hook ran while 6 was still in hand
                        waited = not post.done()
                        await asyncio.to_thread(seen.finish, "telegram", "6")
                        answer = await post
            return heard, waited, answer.status_code

    heard, waited, status = asyncio.run(scenario())
    assert heard == ["xin chào"] and waited and status == 200
