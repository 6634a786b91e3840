"""Benchmark: messages through the Telegram channel vs. a bare Rasa call.

Starts a private stack and a Bot API stand-in, then at 1, 10 and 50 concurrent
users sends messages through the real PTB Application (long polling) and
measures from queuing the update to the reply arriving at the stand-in. In the
same run, the same messages go straight to Rasa's An Tâm channel (the bare
Rasa call) at the same concurrency. Prints p50/p95, throughput, and the ratio
bot/Rasa; the target is a ratio of at most 1.2.

Per-chat pacing (1 message/s, Telegram's limit) is lifted here: it measures
what the bot adds, not Telegram's rules.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_core, build_database  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.handlers.pacing import ChatPacer  # noqa: E402
from bot.handlers.telegram import TelegramChannel, TelegramSettings  # noqa: E402
from bot.stack import private_stack  # noqa: E402
from bot.storage import ExitLog  # noqa: E402
from tests.fakes.telegram_api import TelegramStandIn  # noqa: E402

MESSAGES = ["xin chào", "cho toi xin so duong day nong", "tôi bị sếp quấy rối",
            "thời tiết hôm nay thế nào", "làm sao để giữ bằng chứng"]
PER_USER = 6
LEVELS = tuple(int(n) for n in os.environ.get("BENCH_USERS", "1,10,50").split(","))


def _summary(latencies: list[float], wall_s: float) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return statistics.median(ordered), p95, len(ordered) / wall_s


async def _bot_user(standin: TelegramStandIn, chat: int, latencies: list[float]) -> None:
    for i in range(PER_USER):
        expected = len(standin.sent(chat)) + 1
        started = time.perf_counter()
        standin.user_message(chat, MESSAGES[i % len(MESSAGES)])
        while len(standin.sent(chat)) < expected:  # 1 ms polling: finer than the stand-in's
            await asyncio.sleep(0.001)
            if time.perf_counter() - started > 60:
                raise TimeoutError(f"no reply in chat {chat}")
        latencies.append((time.perf_counter() - started) * 1000)


async def _rasa_user(client: httpx.AsyncClient, url: str, secret: str, user: int,
                     latencies: list[float]) -> None:
    for i in range(PER_USER):
        started = time.perf_counter()
        response = await client.post(url, headers={"Authorization": f"Bearer {secret}"},
                                     json={"sender": f"bench-{user}", "message":
                                           MESSAGES[i % len(MESSAGES)]})
        response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)


async def _level(users: int, channel: TelegramChannel, standin: TelegramStandIn,
                 settings: Settings, base_chat: int) -> str:
    bot: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_bot_user(standin, base_chat + u, bot) for u in range(users)))
    bot_p50, bot_p95, bot_tput = _summary(bot, time.perf_counter() - started)
    rasa: list[float] = []
    url = f"{settings.rasa_url}/webhooks/antam/webhook"
    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_rasa_user(client, url, settings.channel_secret, base_chat + u,
                                          rasa) for u in range(users)))
    rasa_p50, rasa_p95, rasa_tput = _summary(rasa, time.perf_counter() - started)
    return (f"| {users:>3} | {bot_p50:7.1f} | {bot_p95:7.1f} | {bot_tput:6.1f} | "
            f"{rasa_p50:7.1f} | {rasa_p95:7.1f} | {rasa_tput:6.1f} | {bot_p50 / rasa_p50:5.2f} |")


async def _run(settings: Settings) -> None:
    with TelegramStandIn() as standin:
        database = build_database(settings)
        channel = TelegramChannel(
            build_core(settings, database),
            TelegramSettings(token=standin.token, base_url=standin.base_url, poll_timeout=1),
            ExitLog(database), pacer=ChatPacer(rate_per_s=1e6, burst=10**6))
        task = asyncio.create_task(channel.serve())
        await asyncio.sleep(1.0)
        print("| users | bot p50 ms | bot p95 ms | bot msg/s | Rasa p50 ms | Rasa p95 ms "
              "| Rasa msg/s | p50 ratio |")
        print("|---|---|---|---|---|---|---|---|")
        try:
            for index, users in enumerate(LEVELS):
                print(await _level(users, channel, standin, settings, 10_000 * (index + 1)),
                      flush=True)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def main() -> None:
    with private_stack() as (env, _):
        os.environ.update(env)
        asyncio.run(_run(Settings.from_env()))


if __name__ == "__main__":
    main()
