"""Benchmark: messages through the Telegram channel vs. a bare Rasa call.

The bot runs as in production: `antam up` in its own process, with its
Telegram channel long-polling a Bot API stand-in that this process serves on
127.0.0.1. At 1, 10 and 50 concurrent users, each user sends messages one
after another; a message's latency runs from queuing its update at the
stand-in to the stand-in receiving the bot's first reply (both stamped on the
stand-in's side, so no polling inflates the figure). In the same run, the same
messages go straight to Rasa's An Tâm channel (the bare Rasa call) at the same
concurrency, alternating with the bot in rounds. Prints p50/p95, throughput,
and the ratio bot/Rasa; the target is a p50 ratio of at most 1.2.

Every message comes from a new chat, in both arms: Telegram's per-chat limit
(about 1 message/s, which the bot honours) would otherwise measure Telegram's
rules rather than what the bot adds.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.stack import private_stack  # noqa: E402
from tests.fakes.telegram_api import TelegramStandIn  # noqa: E402

MESSAGES = ["xin chào", "cho toi xin so duong day nong", "tôi bị sếp quấy rối",
            "thời tiết hôm nay thế nào", "làm sao để giữ bằng chứng"]
PER_USER = 6  # messages per user per round
ROUNDS = 5  # bot and bare Rasa alternate, so a noisy moment hits both arms alike
LEVELS = tuple(int(n) for n in os.environ.get("BENCH_USERS", "1,10,50").split(","))
WARM_UP = 5


class ReplyClock:
    """Stamps each chat's first reply as the stand-in receives it (on its server thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[float, asyncio.Future, asyncio.AbstractEventLoop]] = {}

    def expect(self, chat: int) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._waiting[chat] = (time.perf_counter(), future, loop)
        return future

    def on_sent(self, chat: int | str) -> None:
        arrived = time.perf_counter()
        with self._lock:
            entry = self._waiting.pop(int(chat), None)
        if entry is not None:
            queued, future, loop = entry
            loop.call_soon_threadsafe(future.set_result, (arrived - queued) * 1000)


def _summary(latencies: list[float], wall_s: float) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return statistics.median(ordered), p95, len(ordered) / wall_s


async def _bot_user(standin: TelegramStandIn, clock: ReplyClock, chats: itertools.count,
                    count: int, latencies: list[float]) -> None:
    for i in range(count):
        chat = next(chats)
        reply = clock.expect(chat)
        standin.user_message(chat, MESSAGES[i % len(MESSAGES)])
        latencies.append(await asyncio.wait_for(reply, timeout=60))


async def _rasa_user(client: httpx.AsyncClient, settings: Settings, senders: itertools.count,
                     count: int, latencies: list[float]) -> None:
    url = f"{settings.rasa_url}/webhooks/antam/webhook"
    for i in range(count):
        started = time.perf_counter()
        response = await client.post(url, headers={"Authorization":
                                                   f"Bearer {settings.channel_secret}"},
                                     json={"sender": f"bench-{next(senders)}",
                                           "message": MESSAGES[i % len(MESSAGES)]})
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)


async def _level(users: int, standin: TelegramStandIn, clock: ReplyClock,
                 settings: Settings, ids: itertools.count) -> str:
    bot: list[float] = []
    rasa: list[float] = []
    bot_s = rasa_s = 0.0
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(max(ROUNDS, 20 // users)):  # at least 120 samples at 1 user
            started = time.perf_counter()
            await asyncio.gather(*(_bot_user(standin, clock, ids, PER_USER, bot)
                                   for _ in range(users)))
            bot_s += time.perf_counter() - started
            started = time.perf_counter()
            await asyncio.gather(*(_rasa_user(client, settings, ids, PER_USER, rasa)
                                   for _ in range(users)))
            rasa_s += time.perf_counter() - started
    bot_p50, bot_p95, bot_tput = _summary(bot, bot_s)
    rasa_p50, rasa_p95, rasa_tput = _summary(rasa, rasa_s)
    return (f"| {users:>3} | {bot_p50:7.1f} | {bot_p95:7.1f} | {bot_tput:6.1f} | "
            f"{rasa_p50:7.1f} | {rasa_p95:7.1f} | {rasa_tput:6.1f} | {bot_p50 / rasa_p50:5.2f} |")


async def _run(standin: TelegramStandIn, clock: ReplyClock, settings: Settings) -> None:
    ids = itertools.count(100_000)
    # Warm both paths (first PTB requests, first Rasa trackers) outside the figures.
    await _bot_user(standin, clock, ids, WARM_UP, [])
    async with httpx.AsyncClient(timeout=60) as client:
        await _rasa_user(client, settings, ids, WARM_UP, [])
    print("| users | bot p50 ms | bot p95 ms | bot msg/s | Rasa p50 ms | Rasa p95 ms "
          "| Rasa msg/s | p50 ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for users in LEVELS:
        print(await _level(users, standin, clock, settings, ids), flush=True)


def main() -> None:
    clock = ReplyClock()
    with TelegramStandIn(on_sent=clock.on_sent) as standin:
        telegram = {"TELEGRAM_BOT_TOKEN": standin.token, "TELEGRAM_BASE_URL": standin.base_url,
                    "TELEGRAM_POLL_TIMEOUT": "10"}
        with private_stack(extra_env=telegram) as (env, _):
            os.environ.update(env)
            asyncio.run(_run(standin, clock, Settings.from_env()))


if __name__ == "__main__":
    main()
